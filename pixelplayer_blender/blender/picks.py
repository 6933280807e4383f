"""A movie's picks as a whole: isolating them together into stem files, soloing them.

Every change re-isolates all picks of the movie together, so the picks plus the "Rest" always add up
to the original; new stems go to new files, so undo finds the audio it needs.  The isolation runs in
the background from the UI (:class:`Isolating`); the scene changes only once it has succeeded.
"""
from __future__ import annotations

import bpy

from . import compat, stem_files, strips
from .errors import UserError, reports
from .pure import session
from .timer_job import TimerJob


def analysis_of(movie, path: str):
    """The session's analysis of ``movie``'s media at ``path``; a clear error if there is none yet."""
    analysis = session.current.analyses.get(path)
    if analysis is None:
        raise UserError(f"Analyze '{movie.name}' first")
    return analysis


def current(editor, movie) -> list[tuple[str, object]]:
    """The movie's picks as (strip name, query), in pick order."""
    return [(pick.name, strips.query(pick)) for pick in strips.made_for(editor, movie, "pick")]


def still(editor, movie_name: str, picks: list[tuple[str, object]]):
    """The movie called ``movie_name``, if its picks are still ``picks`` (:func:`current`); a clear error if
    they changed (while being isolated in the background, say)."""
    movie = compat.all_strips(editor).get(movie_name)
    if movie is None or current(editor, movie) != picks:
        raise UserError(f"The instruments of '{movie_name}' changed while they were isolated: nothing was done")
    return movie


class Isolating(TimerJob):
    """Mixin for an operator that isolates a movie's picks together and then changes the scene.

    ``isolate(context, movie, queries, at_once)`` runs the isolation in the background when invoked from the
    UI (progress in the status bar, Esc cancels), at once when executed (``at_once``).  Once it has
    succeeded, the stems and the Rest are written to new files and ``apply(context, editor, movie, sources,
    files)`` changes the scene (``files`` ends with the Rest's), only if the movie's picks are still those it
    started from.
    """

    job_action = session.ISOLATION

    def apply(self, context, editor, movie, sources: list, files: list[str]) -> str:
        raise NotImplementedError

    def isolate(self, context, movie, queries: list, at_once: bool) -> set[str]:
        path = strips.media_path(movie)
        analysis, separator = analysis_of(movie, path), session.current.separator
        editor = compat.sequencer_scene(context).sequence_editor
        self._plan = (movie.name, path, queries, current(editor, movie))
        return self.run_job(context, lambda progress, cancelled: separator.isolate(analysis, queries, progress,
                                                                                   cancelled), path, at_once)

    @reports(session.ISOLATION)
    def finished(self, context, separation) -> set[str]:
        movie_name, path, queries, picks = self._plan
        editor = compat.sequencer_scene(context).sequence_editor
        movie = still(editor, movie_name, picks)
        named = [(stem_files.file_name(path, stem.label, queries, i), stem.audio)
                 for i, stem in enumerate(separation.sources)]
        named.append((stem_files.file_name(path, "rest", queries, len(queries)), separation.residual))
        files = stem_files.write_all(stem_files.folder(context), named, separation.sample_rate, path)
        self.report({"INFO"}, self.apply(context, editor, movie, separation.sources, files))
        return {"FINISHED"}


def restem(editor, movie, picks: list, files: list[str]) -> None:
    """Point ``picks`` (the movie's picks, in the order isolated) and the Rest at their new ``files``
    (the Rest's last)."""
    for pick, file in zip(picks, files):
        strips.set_sound(pick, file)
    for rest in strips.made_for(editor, movie, "rest"):
        strips.set_sound(rest, files[-1])


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


class OnPick:
    """Mixin for an operator on the pick named ``strip``; subclasses define ``act(context, editor, strip,
    at_once)``, which returns the operator's result (``at_once``: executed, not invoked from the UI)."""

    bl_options = {"REGISTER", "UNDO"}

    strip: bpy.props.StringProperty(name="Strip", description="Name of the isolated instrument's sound strip",
                                    options={"SKIP_SAVE"})

    def _act(self, context, at_once: bool) -> set[str]:
        scene = compat.sequencer_scene(context)
        if scene is None or scene.sequence_editor is None:
            raise UserError("This scene has no sequencer strips")
        editor = scene.sequence_editor
        strip = strips.named(editor, self.strip)
        if strip.get(strips.KEY, {}).get("role") != "pick":
            raise UserError(f"'{strip.name}' is not an isolated instrument")
        return self.act(context, editor, strip, at_once)

    @reports()
    def execute(self, context) -> set[str]:
        return self._act(context, True)

    @reports()
    def invoke(self, context, event) -> set[str]:
        return self._act(context, False)
