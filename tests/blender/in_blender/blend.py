"""Helpers for the checks that run inside Blender (the bpy venvs); imported by the check_*.py files."""
from __future__ import annotations

import sys
from pathlib import Path

import bpy
import numpy as np
import soundfile

REPO = Path(__file__).resolve().parents[3]
PACKAGE = "bl_ext.user_default.pixelplayer"
sys.path.insert(0, str(REPO / "scripts"))
from clipgen import COLOURS, write_clip  # noqa: E402  (scripts/ is not a package)

__all__ = ["COLOURS", "PACKAGE", "write_clip", "new_scene", "add_movie", "strips", "mixdown", "role"]


def strips(scene) -> list:
    editor = scene.sequence_editor
    return list(editor.strips_all if hasattr(editor, "strips_all") else editor.sequences_all)


def role(strip) -> str | None:
    return strip["pixelplayer"]["role"] if "pixelplayer" in strip else None


def new_scene(name: str = "test", width: int = 320, height: int = 240):
    """A fresh scene made the window's (and 5.0's sequencer) scene."""
    scene = bpy.data.scenes.new(name)
    window = bpy.context.window_manager.windows[0]
    window.scene = scene
    if hasattr(window.workspace, "sequencer_scene"):
        window.workspace.sequencer_scene = scene
    scene.sequence_editor_create()
    scene.render.fps, scene.render.fps_base = 25, 1.0
    scene.render.resolution_x, scene.render.resolution_y, scene.render.resolution_percentage = width, height, 100
    return scene


def add_movie(scene, path, sound: bool = True, frame_start: int = 1, channel: int = 2):
    """Add ``path`` as the active movie strip, with its sound strip below it like the Add > Movie operator."""
    editor = scene.sequence_editor
    top = editor.strips if hasattr(editor, "strips") else editor.sequences
    movie = top.new_movie("duet", str(path), channel, frame_start)
    if sound:
        top.new_sound("duet.sound", str(path), channel - 1, frame_start)
    editor.active_strip = movie
    scene.frame_start, scene.frame_end = frame_start, int(movie.frame_final_end) - 1
    scene.frame_current = frame_start + 25
    return movie


def mixdown(scene, path) -> np.ndarray:
    """The scene's audio as Blender mixes it, ``(channels, samples)``."""
    assert bpy.ops.sound.mixdown(filepath=str(path), container="WAV", codec="PCM", format="F32",
                                 mixrate=44100, channels="STEREO", accuracy=1024) == {"FINISHED"}
    audio, _ = soundfile.read(str(path), dtype="float32", always_2d=True)
    return audio.T
