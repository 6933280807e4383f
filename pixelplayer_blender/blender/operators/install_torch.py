"""``preferences.pixelplayer_install_torch``: pip installs PyTorch into the extension's own user folder.

Invoked from the preferences it runs in the background (:class:`..timer_job.TimerJob`: progress in the
status bar, Esc cancels); in background mode it runs at once.
"""
from __future__ import annotations

from pathlib import Path

import bpy

from .. import prefs
from ..errors import reports
from ..pure import deps, installer, session
from ..timer_job import TimerJob


class PREFERENCES_OT_pixelplayer_install_torch(TimerJob, bpy.types.Operator):
    bl_idname = "preferences.pixelplayer_install_torch"
    bl_label = "Install PyTorch"
    bl_description = "Download PyTorch with pip into this extension's own user folder (nothing else is touched)"

    job_action = session.TORCH_INSTALL
    redraw_area = "PREFERENCES"

    build: bpy.props.EnumProperty(name="Build", items=[("CPU", "CPU", "Runs everywhere"),
                                                      ("CUDA", "CUDA", "For NVIDIA GPUs (Linux, Windows)")])
    requirement: bpy.props.StringProperty(name="Requirement", default=installer.REQUIREMENT,
                                          description="What pip installs, e.g. a pinned 'torch==2.6.0'")
    index_url: bpy.props.StringProperty(name="Index URL", description="Package index; empty: the build's own")

    def _work(self):
        if self.build not in installer.builds():
            raise installer.InstallError(f"No {self.build} build of PyTorch for this platform")
        call = installer.command(prefs.site_packages(), self.requirement,
                                 self.index_url or installer.index_url(self.build))
        folder = prefs.user_folder()
        return lambda progress, cancelled: installer.run(call, folder, progress, cancelled)

    def finished(self, context, log: Path) -> set[str]:
        deps.add_site_packages(prefs.site_packages())
        self.report({"INFO"}, f"Installed {self.requirement} (log: {log})")
        return {"FINISHED"}

    @reports(session.TORCH_INSTALL)
    def execute(self, context) -> set[str]:
        return self.run_job(context, self._work(), at_once=True)

    @reports(session.TORCH_INSTALL)
    def invoke(self, context, event) -> set[str]:
        return self.run_job(context, self._work())


CLASSES = (PREFERENCES_OT_pixelplayer_install_torch,)
