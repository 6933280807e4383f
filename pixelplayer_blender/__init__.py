"""PixelPlayer for Blender: click an instrument in the sequencer preview, get its sound.

This package is the Blender extension's root.  ``bpy`` is only imported on ``register`` so the
pure core (``core``) and the Blender layer's pure helpers stay importable outside Blender.
"""

__version__ = "0.1.0"  # also in blender_manifest.toml and pyproject.toml (a test checks they agree)


def register() -> None:
    from .blender import addon

    addon.register()


def unregister() -> None:
    from .blender import addon

    addon.unregister()
