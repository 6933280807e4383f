"""Register and unregister everything; never imports the core's heavy dependencies."""
from __future__ import annotations

import bpy

from . import analyze, panel, pick, prefs, stems

MODULES = (prefs, analyze, pick, panel)


def register() -> None:
    for module in MODULES:
        for cls in module.CLASSES:
            bpy.utils.register_class(cls)
    prefs.register()
    stems.register()


def unregister() -> None:
    stems.unregister()
    for module in reversed(MODULES):
        for cls in reversed(module.CLASSES):
            bpy.utils.unregister_class(cls)
