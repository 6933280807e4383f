"""``sequencer.pixelplayer_analyze``: analyse the active movie strip with the core.

Invoked from the UI the work runs in a :class:`.jobs.Job` watched by a modal timer (progress in
the status bar, Esc cancels); executed directly, or in background mode where timers never fire,
it runs synchronously.
"""
from __future__ import annotations

import traceback

import bpy

from . import deps, prefs, session, strips
from .jobs import Job

TIMER_SECONDS = 0.1


def failure(error: BaseException, action: str = "Analysis") -> tuple[str, str]:
    """The report (level, text) for an exception raised while doing ``action``."""
    from ..core.errors import Cancelled, PixelPlayerError

    if isinstance(error, Cancelled):
        return "WARNING", f"{action} cancelled"
    if isinstance(error, (PixelPlayerError, deps.MissingDependency, strips.UserError)):
        return "ERROR", str(error)
    traceback.print_exception(error)
    return "ERROR", f"{action} failed: {type(error).__name__}: {error}"


class SEQUENCER_OT_pixelplayer_analyze(bpy.types.Operator):
    bl_idname = "sequencer.pixelplayer_analyze"
    bl_label = "Analyze"
    bl_description = "Analyse the active movie strip's picture and sound so instruments can be picked"

    def _prepare(self, context) -> tuple[session.Settings, str]:
        if session.current.job is not None:
            raise strips.UserError("An analysis is already running")
        _, movie = strips.active_movie(context)
        path = strips.media_path(movie)
        deps.require()
        return prefs.settings(context), path

    def _finished(self, path: str, analysis) -> set[str]:
        session.current.analyses[path] = analysis
        warning = session.current.separator.warning
        self.report({"WARNING"} if warning else {"INFO"}, warning or f"Analysed {bpy.path.basename(path)}")
        return {"FINISHED"}

    def execute(self, context) -> set[str]:
        try:
            settings, path = self._prepare(context)
            analysis = session.analyze(settings, path, lambda fraction, message: None, lambda: False)
        except Exception as error:
            level, text = failure(error)
            self.report({level}, text)
            return {"CANCELLED"}
        return self._finished(path, analysis)

    def invoke(self, context, event) -> set[str]:
        if bpy.app.background:
            return self.execute(context)
        try:
            settings, path = self._prepare(context)
        except Exception as error:
            level, text = failure(error)
            self.report({level}, text)
            return {"CANCELLED"}
        session.current.job = Job(lambda progress, cancelled: session.analyze(settings, path, progress, cancelled))
        session.current.job_path = path
        wm = context.window_manager
        self._timer = wm.event_timer_add(TIMER_SECONDS, window=context.window)
        wm.modal_handler_add(self)
        wm.progress_begin(0, 100)
        return {"RUNNING_MODAL"}

    def modal(self, context, event) -> set[str]:
        job = session.current.job
        if event.type == "ESC" and event.value == "PRESS":
            job.cancel()
            return {"RUNNING_MODAL"}
        if event.type != "TIMER":
            return {"PASS_THROUGH"}
        ended = job.poll()
        context.workspace.status_text_set(f"PixelPlayer: {job.message} {job.fraction:.0%}  (Esc to cancel)")
        context.window_manager.progress_update(int(job.fraction * 100))
        for area in context.screen.areas:
            if area.type == "SEQUENCE_EDITOR":
                area.tag_redraw()
        if not ended:
            return {"PASS_THROUGH"}
        context.window_manager.event_timer_remove(self._timer)
        context.window_manager.progress_end()
        context.workspace.status_text_set(None)
        path = session.current.job_path
        session.current.job = None
        if job.error is not None:
            level, text = failure(job.error)
            self.report({level}, text)
            return {"CANCELLED"}
        return self._finished(path, job.result)


CLASSES = (SEQUENCER_OT_pixelplayer_analyze,)
