"""Register and unregister everything; never imports the core's heavy dependencies."""
from __future__ import annotations

import bpy

from . import analyze, bake, instruments, panel, pick, prefs, preview, stems

MODULES = (prefs, analyze, pick, instruments, bake, panel)


def register() -> None:
    for module in MODULES:
        for cls in module.CLASSES:
            bpy.utils.register_class(cls)
    prefs.register()
    stems.register()
    preview.register()


def unregister() -> None:
    preview.unregister()
    stems.unregister()
    for module in reversed(MODULES):
        for cls in reversed(module.CLASSES):
            bpy.utils.unregister_class(cls)
