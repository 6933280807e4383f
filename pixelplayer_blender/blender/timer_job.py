"""Operators whose work runs in the background: progress in the status bar, Esc cancels.

:class:`TimerJob` starts a :class:`.pure.jobs.Job` and watches it from a modal timer on the main
thread, where ``bpy`` may be used; in background mode, where timers never fire, the work runs at once.
"""
from __future__ import annotations

from typing import Any

import bpy

from ..core.progress import never, quiet
from .errors import UserError, failure
from .pure import session
from .pure.jobs import Job, Work

TIMER_SECONDS = 0.1


class TimerJob:
    """Mixin for an operator; subclasses set ``job_action`` and ``redraw_area`` and define ``finished``.

    The running job is kept in the session under ``job_action``, so panels can show it and a second
    start is refused.
    """

    job_action = "Work"  # names the work in the status bar, in reports and in ``session.current.jobs``
    redraw_area = "SEQUENCE_EDITOR"  # areas redrawn as progress comes in

    def finished(self, context, result: Any) -> set[str]:
        raise NotImplementedError

    def run_job(self, context, work: Work, subject: str = "", at_once: bool = False) -> set[str]:
        """Run ``work(progress, cancelled)`` on ``subject``: in the background from the UI, at once when
        ``at_once`` (an operator executed rather than invoked) or in background mode (a failure then
        raises, for :func:`.errors.reports`)."""
        if self.job_action in session.current.jobs:
            raise UserError(f"{self.job_action} is already running")
        if at_once or bpy.app.background:
            return self.finished(context, work(quiet, never))
        session.current.jobs[self.job_action] = Job(work, subject)
        wm = context.window_manager
        self._timer = wm.event_timer_add(TIMER_SECONDS, window=context.window)
        wm.modal_handler_add(self)
        wm.progress_begin(0, 100)
        return {"RUNNING_MODAL"}

    def modal(self, context, event) -> set[str]:
        job = session.current.jobs[self.job_action]
        if event.type == "ESC" and event.value == "PRESS":
            job.cancel()
            return {"RUNNING_MODAL"}
        if event.type != "TIMER":
            return {"PASS_THROUGH"}
        ended = job.poll()
        wm = context.window_manager
        context.workspace.status_text_set(f"PixelPlayer: {self.job_action}: {job.message} {job.fraction:.0%}  "
                                          "(Esc cancels)")
        wm.progress_update(int(job.fraction * 100))
        for window in wm.windows:
            for area in window.screen.areas:
                if area.type == self.redraw_area:
                    area.tag_redraw()
        if not ended:
            return {"PASS_THROUGH"}
        wm.event_timer_remove(self._timer)
        wm.progress_end()
        context.workspace.status_text_set(None)
        del session.current.jobs[self.job_action]
        if job.error is not None:
            level, text = failure(job.error, self.job_action)
            self.report({level}, text)
            return {"CANCELLED"}
        return self.finished(context, job.result)
