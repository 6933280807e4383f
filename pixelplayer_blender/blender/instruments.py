"""Operators on the isolated instruments listed in the panel: solo and remove.

Mute and level are the sound strips' own ``mute`` and ``volume``, edited directly in the panel.
"""
from __future__ import annotations

import bpy

from . import compat, strips
from .analyze import failure
from .pick import analysis_of, separate


def soloed(editor, strip) -> bool:
    """Whether ``strip`` is the only pick of its movie that plays (and it has company)."""
    picks = strips.made_for(editor, strips.movie_of(editor, strip), "pick")
    others = [p for p in picks if p.name != strip.name]
    return bool(others) and not strip.mute and all(p.mute for p in others)


def solo(editor, strip) -> None:
    """Mute every other pick of the movie (the "Rest" keeps playing); on a soloed pick, unmute them all."""
    picks = strips.made_for(editor, strips.movie_of(editor, strip), "pick")
    back = soloed(editor, strip)
    for pick in picks:
        pick.mute = False if back else pick.name != strip.name


def remove(context, editor, strip) -> None:
    """Delete a pick and re-isolate the others so they and the "Rest" still add up to the original.

    Removing the last pick also removes the "Rest" and unmutes the movie's own sound.
    """
    movie = strips.movie_of(editor, strip)
    picks = [p for p in strips.made_for(editor, movie, "pick") if p.name != strip.name]
    rest = strips.made_for(editor, movie, "rest")
    if picks:
        path = strips.media_path(movie)
        _, files, rest_file = separate(context, path, analysis_of(movie, path), [strips.query(p) for p in picks])
        for pick, file in zip(picks, files):
            strips.set_sound(pick, file)
        for rest_strip in rest:
            strips.set_sound(rest_strip, rest_file)
    else:
        for rest_strip in rest:
            strips.remove(editor, rest_strip)
        for own in strips.made_for(editor, movie, "muted"):
            own.mute = False
            del own[strips.KEY]
    strips.remove(editor, strip)


class _OnPick:
    """An operator acting on the pick named ``strip``; subclasses define ``act(context, editor, strip) -> report``."""

    bl_options = {"REGISTER", "UNDO"}

    strip: bpy.props.StringProperty(name="Strip", description="Name of the isolated instrument's sound strip",
                                    options={"SKIP_SAVE"})

    def execute(self, context) -> set[str]:
        scene = compat.sequencer_scene(context)
        try:
            if scene is None or scene.sequence_editor is None:
                raise strips.UserError("This scene has no sequencer strips")
            editor = scene.sequence_editor
            strip = strips.named(editor, self.strip)
            if strip.get(strips.KEY, {}).get("role") != "pick":
                raise strips.UserError(f"'{strip.name}' is not an isolated instrument")
            message = self.act(context, editor, strip)
        except Exception as error:
            level, text = failure(error, self.bl_label)
            self.report({level}, text)
            return {"CANCELLED"}
        self.report({"INFO"}, message)
        return {"FINISHED"}


class SEQUENCER_OT_pixelplayer_solo(_OnPick, bpy.types.Operator):
    bl_idname = "sequencer.pixelplayer_solo"
    bl_label = "Solo Instrument"
    bl_description = "Mute the other isolated instruments of this movie (again: unmute them)"

    def act(self, context, editor, strip) -> str:
        solo(editor, strip)
        return f"Soloed '{strip.name}'" if soloed(editor, strip) else "Every instrument plays"


class SEQUENCER_OT_pixelplayer_remove(_OnPick, bpy.types.Operator):
    bl_idname = "sequencer.pixelplayer_remove"
    bl_label = "Remove Instrument"
    bl_description = "Delete this instrument's strip; the other instruments and the Rest are isolated again"

    def act(self, context, editor, strip) -> str:
        name = strip.name
        remove(context, editor, strip)
        return f"Removed '{name}'"


CLASSES = (SEQUENCER_OT_pixelplayer_solo, SEQUENCER_OT_pixelplayer_remove)
