"""``sequencer.pixelplayer_analyze``: analyse the active movie strip with the core.

Invoked from the UI the work runs in the background (:class:`..timer_job.TimerJob`: progress in the
status bar, Esc cancels); executed directly, or in background mode, it runs at once.
"""
from __future__ import annotations

import bpy

from .. import prefs, strips
from ..errors import reports
from ..pure import deps, session
from ..timer_job import TimerJob


class SEQUENCER_OT_pixelplayer_analyze(TimerJob, bpy.types.Operator):
    bl_idname = "sequencer.pixelplayer_analyze"
    bl_label = "Analyze"
    bl_description = "Analyse the active movie strip's picture and sound so instruments can be picked"

    job_action = session.ANALYSIS

    def _work(self, context):
        """The analysis of the active movie's file, as background work; and that file's path."""
        _, movie = strips.active_movie(context)
        path = strips.media_path(movie)
        deps.require()
        settings = prefs.settings(context)
        self._path = path
        return (lambda progress, cancelled: session.analyze(settings, path, progress, cancelled)), path

    def finished(self, context, analysis) -> set[str]:
        session.current.analyses[self._path] = analysis
        warning = session.current.separator.warning
        self.report({"WARNING"} if warning else {"INFO"}, warning or f"Analysed {bpy.path.basename(self._path)}")
        return {"FINISHED"}

    @reports(session.ANALYSIS)
    def execute(self, context) -> set[str]:
        return self.run_job(context, *self._work(context), at_once=True)

    @reports(session.ANALYSIS)
    def invoke(self, context, event) -> set[str]:
        return self.run_job(context, *self._work(context))


CLASSES = (SEQUENCER_OT_pixelplayer_analyze,)
