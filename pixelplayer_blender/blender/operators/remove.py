"""``sequencer.pixelplayer_remove``: delete an isolated instrument; the others and the Rest are isolated again.

Removing the last pick also removes the "Rest" and unmutes the movie's own sound.
"""
from __future__ import annotations

import bpy

from .. import picks, strips


class SEQUENCER_OT_pixelplayer_remove(picks.OnPick, picks.Isolating, bpy.types.Operator):
    bl_idname = "sequencer.pixelplayer_remove"
    bl_label = "Remove Instrument"
    bl_description = "Delete this instrument's strip; the other instruments and the Rest are isolated again"

    def act(self, context, editor, strip, at_once: bool) -> set[str]:
        movie = strips.movie_of(editor, strip)
        self._removed = strip.name
        others = [p for p in strips.made_for(editor, movie, "pick") if p.name != strip.name]
        if others:
            return self.isolate(context, movie, [strips.query(p) for p in others], at_once)
        for rest in strips.made_for(editor, movie, "rest"):
            strips.remove(editor, rest)
        for own in strips.made_for(editor, movie, "muted"):
            own.mute = False
            del own[strips.KEY]
        strips.remove(editor, strip)
        self.report({"INFO"}, f"Removed '{self._removed}'")
        return {"FINISHED"}

    def apply(self, context, editor, movie, sources: list, files: list[str]) -> str:
        others = [p for p in strips.made_for(editor, movie, "pick") if p.name != self._removed]
        picks.restem(editor, movie, others, files)
        strips.remove(editor, strips.named(editor, self._removed))
        return f"Removed '{self._removed}'"


CLASSES = (SEQUENCER_OT_pixelplayer_remove,)
