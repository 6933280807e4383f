"""Helpers for the checks that run inside Blender (the bpy venvs); imported by the check_*.py files."""
from __future__ import annotations

import sys
from pathlib import Path

import bpy
import numpy as np
import soundfile

REPO = Path(__file__).resolve().parents[3]
PACKAGE = "bl_ext.user_default.pixelplayer"
sys.path[:0] = [str(REPO / "scripts"), str(REPO / "tests")]  # clipgen; tmpfs
from clipgen import COLOURS, write_clip  # noqa: E402  (scripts/ is not a package)

__all__ = ["COLOURS", "PACKAGE", "write_clip", "new_scene", "add_movie", "strips", "mixdown", "role", "picked",
           "by_role", "sound_path", "Recorder", "drawn", "drawn_where_mapped"]


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


def mixdown(scene, path, accuracy: int = 1024) -> np.ndarray:
    """The scene's audio as Blender mixes it, ``(channels, samples)``; animation is sampled every ``accuracy`` samples."""
    assert bpy.ops.sound.mixdown(filepath=str(path), container="WAV", codec="PCM", format="F32",
                                 mixrate=44100, channels="STEREO", accuracy=accuracy) == {"FINISHED"}
    audio, _ = soundfile.read(str(path), dtype="float32", always_2d=True)
    return audio.T


def picked(scene_name: str, clip):
    """A fresh scene with ``clip`` analysed and both instruments picked through the operators."""
    scene = new_scene(scene_name)
    movie = add_movie(scene, clip.path)
    assert bpy.ops.sequencer.pixelplayer_analyze() == {"FINISHED"}
    t = (scene.frame_current - movie.frame_start) / scene.render.fps
    for index in range(2):
        assert bpy.ops.sequencer.pixelplayer_pick(x=clip.point(index, t)[0], y=clip.point(index, t)[1]) == {"FINISHED"}
    return scene, movie


def by_role(scene, wanted: str) -> list:
    """PixelPlayer's strips of one role, picks in pick order."""
    found = [s for s in strips(scene) if role(s) == wanted]
    return sorted(found, key=lambda s: s["pixelplayer"].get("index", 0))


def sound_path(strip) -> str:
    return bpy.path.abspath(strip.sound.filepath)


class Recorder:
    """Stands in for ``Panel.layout`` (background mode never draws) and checks every call against Blender's RNA."""

    icons = set(bpy.types.UILayout.bl_rna.functions["prop"].parameters["icon"].enum_items.keys())

    def __init__(self, calls):
        self.calls = calls

    def _icon(self, icon):
        assert icon in self.icons, icon

    def row(self, **_):
        return self

    column = box = row

    def label(self, text="", icon="NONE"):
        self._icon(icon)
        self.calls.append(("label", text))

    def prop(self, data, name, icon="NONE", **_):
        self._icon(icon)
        assert name in data.bl_rna.properties, (data, name)
        self.calls.append(("prop", getattr(data, "name", type(data).__name__), name))

    def context_pointer_set(self, name, data):
        self.calls.append(("pointer", name, data.name))

    def menu(self, idname, icon="NONE", **_):
        self._icon(icon)
        assert hasattr(bpy.types, idname), idname
        self.calls.append(("menu", idname))

    def operator(self, idname, icon="NONE", **_):
        self._icon(icon)
        category, name = idname.split(".")
        rna = getattr(getattr(bpy.ops, category), name).get_rna_type()
        self.calls.append(("operator", idname))
        calls = self.calls

        class Properties:
            def __setattr__(self, key, value):
                assert key in rna.properties, (idname, key)
                calls.append(("set", idname, key, value))

        return Properties()


def drawn(draw, owner=None) -> list:
    """The calls ``draw(self, context)`` makes on its layout; ``self`` is ``owner`` (e.g. the preferences) with a
    :class:`Recorder` as its layout."""
    calls = []

    class Self:
        layout = Recorder(calls)

        def __getattr__(self, name):
            return getattr(owner, name)

    draw(Self(), bpy.context)
    return calls


def drawn_where_mapped(viewmap, pixels, points, frame, placement) -> list:
    """For each source point, the view position the mapping gives it (where the overlay draws its marker),
    after checking that the render shows that instrument's colour there."""
    views = []
    for index, (x, y) in enumerate(points):
        view = viewmap.source_to_view(x, y, frame, placement)
        fx, fy = viewmap.view_to_frame(*view, frame)
        rendered = pixels[int(fy), int(fx), :3] * 255
        assert np.abs(rendered - COLOURS[index]).max() < 40, (index, rendered)
        views.append(view)
    return views
