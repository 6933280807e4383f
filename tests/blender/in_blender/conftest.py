"""Fixtures for the checks run inside Blender by tests/blender/test_in_blender.py.

Imported by the main pytest run too (which has no bpy), so ``bpy`` is only imported in fixtures.
"""
import importlib
import os

import pytest


@pytest.fixture(scope="session")
def extension():
    """The extension installed from the built zip and enabled, as Blender users install it."""
    import bpy
    from blend import PACKAGE

    result = bpy.ops.extensions.package_install_files(
        filepath=os.environ["PIXELPLAYER_ZIP"], repo="user_default", enable_on_install=True)
    assert result == {"FINISHED"}
    assert PACKAGE in bpy.context.preferences.addons
    return importlib.import_module(PACKAGE)


@pytest.fixture(scope="session")
def clip(tmp_path_factory):
    from blend import write_clip

    return write_clip(tmp_path_factory.mktemp("media") / "duet.mp4", seconds=4.0)
