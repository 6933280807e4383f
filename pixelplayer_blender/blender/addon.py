"""Register and unregister everything; never imports the core's heavy dependencies."""
from __future__ import annotations

import bpy

from . import panel, prefs, preview_overlay, stem_files
from .operators import analyze, bake, install_torch, name, pick, remove, solo

MODULES = (prefs, install_torch, analyze, pick, name, solo, remove, bake, panel)


def register() -> None:
    for module in MODULES:
        for cls in module.CLASSES:
            bpy.utils.register_class(cls)
    prefs.register()
    stem_files.register()
    preview_overlay.register()


def unregister() -> None:
    preview_overlay.unregister()
    stem_files.unregister()
    for module in reversed(MODULES):
        for cls in reversed(module.CLASSES):
            bpy.utils.unregister_class(cls)
