"""Bad input gets a clear report from the operators and leaves the scene as it was."""
import re
import shutil

import bpy
import pytest
from blend import add_movie, new_scene, strips, write_clip
from tmpfs import small_tmpfs


def state(scene):
    return [(s.name, s.type, s.channel, s.mute, s.frame_final_start, s.frame_final_end, "pixelplayer" in s)
            for s in strips(scene)]


def refused(operator, match, **props):
    scene = bpy.context.scene
    before = state(scene)
    with pytest.raises(RuntimeError, match=match):
        operator(**props)
    assert state(scene) == before


@pytest.fixture
def analysed(extension, clip):
    scene = new_scene("bad input")
    movie = add_movie(scene, clip.path)
    assert bpy.ops.sequencer.pixelplayer_analyze() == {"FINISHED"}
    return movie


def test_no_active_strip(extension):
    new_scene("empty")
    refused(bpy.ops.sequencer.pixelplayer_analyze, "Make a movie strip active")


def test_active_strip_is_not_a_movie(extension, clip):
    scene = new_scene("sound only")
    editor = scene.sequence_editor
    top = editor.strips if hasattr(editor, "strips") else editor.sequences
    editor.active_strip = top.new_sound("duet.sound", str(clip.path), 1, 1)
    refused(bpy.ops.sequencer.pixelplayer_analyze, "is a sound strip")
    refused(bpy.ops.sequencer.pixelplayer_pick, "is a sound strip", x=10, y=10)


def test_movie_without_audio(extension, tmp_path):
    silent = write_clip(tmp_path / "silent.mp4", seconds=3.0, audio=False)
    add_movie(new_scene("silent"), silent.path, sound=False)
    refused(bpy.ops.sequencer.pixelplayer_analyze, "no audio")


def test_missing_media_file(extension, clip, tmp_path):
    moved = tmp_path / "gone.mp4"
    shutil.copy(clip.path, moved)
    add_movie(new_scene("missing"), moved)
    moved.unlink()
    refused(bpy.ops.sequencer.pixelplayer_analyze, "media file of 'duet' is missing")


def test_pick_before_analysis(extension, tmp_path, clip):
    other = tmp_path / "fresh.mp4"
    shutil.copy(clip.path, other)
    add_movie(new_scene("fresh"), other)
    refused(bpy.ops.sequencer.pixelplayer_pick, "Analyze 'duet' first", x=10, y=10)


def test_click_outside_the_image(analysed):
    refused(bpy.ops.sequencer.pixelplayer_pick, "outside the 320x240 frame", x=400, y=10)


def test_playhead_outside_the_strip(analysed):
    bpy.context.scene.frame_current = int(analysed.frame_final_end) + 10
    refused(bpy.ops.sequencer.pixelplayer_pick, "playhead is not over 'duet'", x=10, y=10)


def test_unwritable_stem_folder(analysed, extension, tmp_path):
    blocker = tmp_path / "a file"
    blocker.write_text("not a folder")
    preferences = extension.blender.prefs.get()
    preferences.stem_folder = str(blocker / "stems")
    try:
        refused(bpy.ops.sequencer.pixelplayer_pick, "Cannot create the stem folder", x=10, y=10)
    finally:
        preferences.stem_folder = "//pixelplayer/"


def test_cancelled_analysis_reports_and_keeps_nothing(extension, tmp_path):
    session, errors = extension.blender.pure.session, extension.blender.errors
    other = write_clip(tmp_path / "cancelled.mp4", seconds=3.0, seed=3).path
    settings = extension.blender.prefs.settings(bpy.context)
    with pytest.raises(extension.core.errors.Cancelled) as caught:
        session.analyze(settings, str(other), lambda fraction, message: None, lambda: True)
    assert errors.failure(caught.value, session.ANALYSIS) == ("WARNING", "Analysis cancelled")
    assert str(other) not in session.current.analyses


@pytest.fixture
def small_disk(tmp_path):
    """A real 2 MB tmpfs: room for one of a pick's two stem files (1.4 MB each), not both (root only)."""
    with small_tmpfs(tmp_path, 2) as mount:
        yield mount


def test_a_pick_that_fails_midway_leaves_no_strip_and_no_file(analysed, extension, small_disk):
    preferences = extension.blender.prefs.get()
    preferences.stem_folder = str(small_disk / "stems")
    try:
        refused(bpy.ops.sequencer.pixelplayer_pick,
                re.escape(f"cannot write to {small_disk / 'stems'}: No space left on device"), x=10, y=10)
    finally:
        preferences.stem_folder = "//pixelplayer/"
    assert [p.name for p in small_disk.rglob("*") if not p.is_dir()] == []
