"""Add-on preferences: model, device, threads, stem folder and where PyTorch comes from."""
from __future__ import annotations

import sys
from pathlib import Path

import bpy

from .pure import deps, installer, session
from .pure.session import Settings

# The extension's root package: "bl_ext.<repository>.pixelplayer" when installed, "pixelplayer_blender" in a checkout.
PACKAGE = __package__.rpartition(".")[0]


def _devices(self, context) -> list[tuple[str, str, str]]:
    items = [("cpu", "CPU", "Run on the processor")]
    torch = sys.modules.get("torch")  # only ask an already imported torch: importing it would stall the UI
    if torch is not None and torch.cuda.is_available():
        items.append(("cuda", "CUDA", "Run on the NVIDIA GPU"))
    if torch is not None and torch.backends.mps.is_available():
        items.append(("mps", "MPS", "Run on the Apple GPU"))
    return items


def user_folder() -> Path:
    """The extension's own user folder (kept across updates); Install PyTorch writes only in here."""
    return Path(bpy.utils.extension_path_user(PACKAGE, create=True))


def site_packages() -> Path:
    """Where Install PyTorch puts PyTorch; on ``sys.path`` from registration on."""
    return Path(bpy.utils.extension_path_user(PACKAGE, path="site-packages", create=True))


def _add_site_packages(self, context) -> None:
    if self.torch_site_packages:
        deps.add_site_packages(bpy.path.abspath(self.torch_site_packages))


class PixelPlayerPreferences(bpy.types.AddonPreferences):
    bl_idname = PACKAGE

    checkpoint: bpy.props.StringProperty(
        name="Checkpoint", subtype="FILE_PATH",
        description="Model checkpoint to use; empty for the model bundled with the extension")
    device: bpy.props.EnumProperty(name="Device", items=_devices, description="Where the model runs")
    threads: bpy.props.IntProperty(
        name="Threads", min=0, max=256, default=0, description="CPU threads for the model; 0 lets PyTorch decide")
    stem_folder: bpy.props.StringProperty(
        name="Stem Folder", subtype="DIR_PATH", default="//pixelplayer/", options={"PATH_SUPPORTS_BLEND_RELATIVE"},
        description="Where isolated audio is written; '//' is the .blend's folder "
                    "(an unsaved file uses a temporary folder, moved here on save)")
    torch_site_packages: bpy.props.StringProperty(
        name="PyTorch Site-Packages", subtype="DIR_PATH", update=_add_site_packages,
        description="An existing Python environment's site-packages folder that contains torch")

    def draw(self, context) -> None:
        layout = self.layout
        for module in deps.missing():
            layout.label(text=deps.ADVICE[module], icon="ERROR")
        layout.prop(self, "checkpoint")
        row = layout.row()
        row.prop(self, "device")
        row.prop(self, "threads")
        layout.prop(self, "stem_folder")
        box = layout.box()
        job = session.current.jobs.get(session.TORCH_INSTALL)
        if job is not None:
            box.label(text=f"Installing PyTorch: {job.message} {job.fraction:.0%}  (Esc cancels)", icon="TIME")
        else:
            row = box.row()
            for build in installer.builds():
                row.operator("preferences.pixelplayer_install_torch", text=f"Install PyTorch ({build})",
                             icon="IMPORT").build = build
        box.label(text=f"Installs into {site_packages()}; log: {installer.LOG}")
        box.prop(self, "torch_site_packages")


def get(context: bpy.types.Context | None = None) -> PixelPlayerPreferences:
    return (context or bpy.context).preferences.addons[PACKAGE].preferences


def settings(context: bpy.types.Context) -> Settings:
    p = get(context)
    return Settings(
        checkpoint=Path(bpy.path.abspath(p.checkpoint)) if p.checkpoint else None,
        device=p.device,
        threads=p.threads or None,
        cache_dir=Path(bpy.utils.extension_path_user(PACKAGE, path="cache", create=True)),
    )


def register() -> None:
    deps.add_site_packages(site_packages())
    p = get()
    if p.torch_site_packages:
        deps.add_site_packages(bpy.path.abspath(p.torch_site_packages))


CLASSES = (PixelPlayerPreferences,)
