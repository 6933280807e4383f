"""A movie's picks as a whole: isolating them together into stem files, soloing and removing them.

Every change re-isolates all picks of the movie together, so the picks plus the "Rest" always add up
to the original; new stems go to new files, so undo finds the audio it needs.
"""
from __future__ import annotations

import bpy

from . import compat, stem_files, strips
from .errors import UserError, reports
from .pure import session


def analysis_of(movie, path: str):
    """The session's analysis of ``movie``'s media at ``path``; a clear error if there is none yet."""
    analysis = session.current.analyses.get(path)
    if analysis is None:
        raise UserError(f"Analyze '{movie.name}' first")
    return analysis


def separate(context, movie, queries: list) -> tuple[list, list[str], str]:
    """Isolate ``queries`` in ``movie`` together and write each stem and the rest, all or none:
    (the core's stems, their files, the rest's file)."""
    path = strips.media_path(movie)
    separation = session.current.separator.isolate(analysis_of(movie, path), queries)
    named = [(stem_files.file_name(path, stem.label, queries, i), stem.audio)
             for i, stem in enumerate(separation.sources)]
    named.append((stem_files.file_name(path, "rest", queries, len(queries)), separation.residual))
    *files, rest_file = stem_files.write_all(stem_files.folder(context), named, separation.sample_rate, path)
    return separation.sources, files, rest_file


def restem(context, editor, movie, picks: list) -> list[str]:
    """Isolate ``picks`` (the movie's remaining pick strips) again and point them and the Rest at the new
    files; returns the picks' labels."""
    sources, files, rest_file = separate(context, movie, [strips.query(p) for p in picks])
    for pick, file in zip(picks, files):
        strips.set_sound(pick, file)
    for rest in strips.made_for(editor, movie, "rest"):
        strips.set_sound(rest, rest_file)
    return [source.label for source in sources]


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
    if picks:
        restem(context, editor, movie, picks)
    else:
        for rest in strips.made_for(editor, movie, "rest"):
            strips.remove(editor, rest)
        for own in strips.made_for(editor, movie, "muted"):
            own.mute = False
            del own[strips.KEY]
    strips.remove(editor, strip)


class OnPick:
    """Mixin for an operator on the pick named ``strip``; subclasses define ``act(context, editor, strip) -> report``."""

    bl_options = {"REGISTER", "UNDO"}

    strip: bpy.props.StringProperty(name="Strip", description="Name of the isolated instrument's sound strip",
                                    options={"SKIP_SAVE"})

    @reports()
    def execute(self, context) -> set[str]:
        scene = compat.sequencer_scene(context)
        if scene is None or scene.sequence_editor is None:
            raise UserError("This scene has no sequencer strips")
        editor = scene.sequence_editor
        strip = strips.named(editor, self.strip)
        if strip.get(strips.KEY, {}).get("role") != "pick":
            raise UserError(f"'{strip.name}' is not an isolated instrument")
        self.report({"INFO"}, self.act(context, editor, strip))
        return {"FINISHED"}
