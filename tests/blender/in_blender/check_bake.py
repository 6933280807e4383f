"""Bake remix: one file and strip equal to what the picks and the Rest play at their (keyframed) levels."""
from pathlib import Path

import bpy
import numpy as np
import pytest
from blend import by_role, mixdown, picked, sound_path, strips


@pytest.fixture
def duet(extension, clip):
    scene, movie = picked("bake", clip)
    return scene, movie, extension.core.media


def decoded(media, strip_list):
    return [media.decode_audio(sound_path(s)) for s in strip_list]


def test_baked_file_is_blenders_mixdown_of_the_picks_and_rest_at_their_levels(duet, tmp_path):
    scene, movie, media = duet
    first, second = by_role(scene, "pick")
    first.volume, second.volume = 0.5, 0.25
    end = round((movie.frame_final_end - scene.frame_start) / 25 * 44100)
    heard = mixdown(scene, tmp_path / "heard.wav")[:, :end]
    bpy.ops.ed.undo_push(message="before baking")
    assert bpy.ops.sequencer.pixelplayer_bake("EXEC_DEFAULT", True) == {"FINISHED"}
    scene = bpy.context.scene
    (remix,) = by_role(scene, "bake")
    parts = by_role(scene, "pick") + by_role(scene, "rest")
    assert remix.name == "Remix" and not remix.mute and all(p.mute for p in parts)
    assert (remix.frame_start, remix.frame_final_start, remix.frame_final_end) == (
        parts[0].frame_start, parts[0].frame_final_start, parts[0].frame_final_end)
    assert remix.channel not in {s.channel for s in strips(scene) if s != remix}
    assert Path(sound_path(remix)).parent == Path(sound_path(parts[0])).parent  # the stem folder
    baked = media.decode_audio(sound_path(remix))
    assert baked.shape == decoded(media, parts[:1])[0].shape
    assert np.abs(heard).max() > 0.1
    np.testing.assert_allclose(baked[:, :end], heard, atol=1e-4)
    np.testing.assert_allclose(mixdown(scene, tmp_path / "baked.wav")[:, :end], heard, atol=1e-4)
    assert bpy.ops.ed.undo() == {"FINISHED"}
    scene = bpy.context.scene
    assert by_role(scene, "bake") == [] and not any(p.mute for p in by_role(scene, "pick") + by_role(scene, "rest"))


def test_keyframed_volume_is_baked_per_sample_from_the_frames(duet, tmp_path):
    scene, movie, media = duet
    first, second = by_role(scene, "pick")
    (rest,) = by_role(scene, "rest")
    for frame, volume in ((10, 1.0), (60, 0.2), (80, 0.6)):
        second.volume = volume
        second.keyframe_insert("volume", frame=frame)
    levels = []  # the keyframed volume as Blender evaluates it at each frame
    for frame in range(int(second.frame_start), int(second.frame_final_end) + 2):
        scene.frame_set(frame)
        levels.append(second.volume)
    a1, a2, ar = decoded(media, [first, second, rest])
    sample_frames = second.frame_start + np.arange(a2.shape[1]) / 44100 * 25
    expected = a1 + ar + a2 * np.interp(sample_frames, np.arange(len(levels)) + second.frame_start, levels)
    end = round((movie.frame_final_end - scene.frame_start) / 25 * 44100)
    heard = mixdown(scene, tmp_path / "heard.wav")[:, :end]
    assert bpy.ops.sequencer.pixelplayer_bake() == {"FINISHED"}
    baked = media.decode_audio(sound_path(by_role(scene, "bake")[0]))
    np.testing.assert_allclose(baked, expected, atol=1e-5)
    # Blender's playback applies volume keyframes about a frame late, so it differs on the ramps only.
    assert np.abs(baked[:, :end] - heard).max() < 0.02 * np.abs(heard).max()


def test_muted_parts_are_left_out_and_nothing_to_bake_is_refused(duet):
    scene, movie, media = duet
    first, second = by_role(scene, "pick")
    (rest,) = by_role(scene, "rest")
    second.mute, rest.volume = True, 2.0
    assert bpy.ops.sequencer.pixelplayer_bake() == {"FINISHED"}
    baked = media.decode_audio(sound_path(by_role(scene, "bake")[0]))
    a1, ar = decoded(media, [first, rest])
    np.testing.assert_allclose(baked, a1 + 2.0 * ar, atol=1e-6)
    assert first.mute and second.mute and rest.mute
    with pytest.raises(RuntimeError, match="Nothing to bake"):
        bpy.ops.sequencer.pixelplayer_bake()
    assert len(by_role(scene, "bake")) == 1 and not by_role(scene, "bake")[0].mute
