"""Analyze and pick through the operators on a generated duet, then check the timeline and its audio."""
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace

import bpy
import numpy as np
import pytest
from blend import add_movie, by_role, mixdown, new_scene, role, sound_path, strips, write_clip


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    """A duet no other check analysed, so the first analysis really runs."""
    return write_clip(tmp_path_factory.mktemp("workflow") / "duet.mp4", seconds=4.0, seed=7)


@pytest.fixture(scope="module")
def work(extension, clip, tmp_path_factory):
    scene = new_scene("workflow")
    movie = add_movie(scene, clip.path)
    cached = []
    for _ in range(2):
        assert bpy.ops.sequencer.pixelplayer_analyze() == {"FINISHED"}
        cached.append(extension.blender.pure.session.current.analyses[str(clip.path.resolve())].cached)
    t = (scene.frame_current - movie.frame_start) / 25
    points = [clip.point(index, t) for index in range(2)]
    for x, y in points:
        assert bpy.ops.sequencer.pixelplayer_pick(x=x, y=y) == {"FINISHED"}
    session = extension.blender.pure.session
    analysis = session.current.analyses[str(clip.path.resolve())]
    Point = extension.core.query.Point
    labels = [s.label for s in session.current.separator.isolate(analysis, [Point(x, y, t) for x, y in points]).sources]
    return SimpleNamespace(scene=scene, movie=movie, cached=cached, session=session, labels=labels,
                           out=tmp_path_factory.mktemp("out"), media=extension.core.media)


def test_second_analysis_comes_from_the_cache(work):
    assert work.cached == [False, True]


def test_picks_and_rest_align_with_the_movie_sound(work):
    own = next(s for s in strips(work.scene) if s.name == "duet.sound")
    picks, rest = by_role(work.scene, "pick"), by_role(work.scene, "rest")
    # Named by the instrument the model predicts (Blender adds ".001" when two names collide).
    assert [s.name.split(".")[0] for s in picks] == [label.split(".")[0] for label in work.labels]
    assert [s.name for s in rest] == ["Rest"]
    assert own.mute and role(own) == "muted"
    for strip in (*picks, *rest):
        assert strip.type == "SOUND" and not strip.mute
        assert (strip.frame_start, strip.frame_final_start, strip.frame_final_end, strip.frame_duration) == (
            own.frame_start, own.frame_final_start, own.frame_final_end, own.frame_duration)
        assert strip.sound.samplerate == own.sound.samplerate
    channels = [s.channel for s in (work.movie, own, *picks, *rest)]
    assert len(set(channels)) == len(channels)
    assert picks[0].color_tag != picks[1].color_tag


def test_stems_and_rest_add_up_to_the_original(work):
    parts = [work.media.decode_audio(sound_path(s)) for s in by_role(work.scene, "pick") + by_role(work.scene, "rest")]
    original = work.media.decode_audio(work.movie.filepath)
    assert all(p.shape == original.shape for p in parts)
    np.testing.assert_allclose(sum(parts), original, atol=1e-5)


def rms(audio) -> float:
    return float(np.sqrt(np.mean(np.square(audio))))


@contextmanager
def solo(scene, keep):
    """Only the sound strips named in ``keep`` play inside the block."""
    sounds = [s for s in strips(scene) if s.type == "SOUND"]
    saved = [s.mute for s in sounds]
    for s in sounds:
        s.mute = s.name not in keep
    yield
    for s, mute in zip(sounds, saved):
        s.mute = mute


def test_mixdown_at_unity_matches_the_original_and_level_zero_drops_the_pick(work):
    scene, out = work.scene, work.out
    end = round((work.movie.frame_final_end - scene.frame_start) / 25 * 44100)  # the strips' last sample
    remixed = mixdown(scene, out / "remix.wav")[:, :end]
    with solo(scene, {"duet.sound"}):
        played = mixdown(scene, out / "original.wav")[:, :end]
    first = by_role(scene, "pick")[0]
    with solo(scene, {first.name}):
        alone = mixdown(scene, out / "alone.wav")[:, :end]
    first.volume = 0.0
    without = mixdown(scene, out / "without.wav")[:, :end]
    first.volume = 1.0
    original = work.media.decode_audio(work.movie.filepath)[:, :end]
    assert np.abs(original).max() > 0.1 and np.abs(alone).max() > 1e-3
    np.testing.assert_allclose(remixed, original, atol=1e-4)
    # Blender's own playback of the movie's AAC track differs slightly from the core's decoding (a
    # silent lead-in, 16-bit rounding) but must line up sample for sample: no shift fits better.
    errors = {lag: rms(np.roll(remixed, lag, axis=1)[:, 2048:-2048] - played[:, 2048:-2048]) for lag in range(-3, 4)}
    assert min(errors, key=errors.get) == 0 and errors[0] < 0.01 * rms(played), errors
    np.testing.assert_allclose(without, remixed - alone, atol=1e-4)


def test_undo_removes_the_last_pick_only(work):
    names = lambda: sorted(s.name for s in strips(bpy.context.scene))
    before = names()
    bpy.ops.ed.undo_push(message="before the third pick")  # background mode starts without an undo stack
    # As from the UI: the operator pushes its own undo step (Python calls skip that unless asked).
    assert bpy.ops.sequencer.pixelplayer_pick("EXEC_DEFAULT", True, x=160, y=120) == {"FINISHED"}
    assert len(names()) == len(before) + 1
    assert bpy.ops.ed.undo() == {"FINISHED"}
    assert names() == before


def test_save_moves_stems_next_to_the_blend_and_reload_keeps_the_remix(work, clip, tmp_path):
    scene = bpy.context.scene
    by_role(scene, "pick")[1].volume = 0.5
    blend = tmp_path / "project" / "remix.blend"
    blend.parent.mkdir()
    assert bpy.ops.wm.save_as_mainfile(filepath=str(blend)) == {"FINISHED"}
    assert bpy.ops.wm.open_mainfile(filepath=str(blend)) == {"FINISHED"}
    scene = bpy.context.scene
    made = by_role(scene, "pick") + by_role(scene, "rest")
    assert len(made) == 3
    for strip in made:
        assert strip.sound.filepath.startswith("//pixelplayer/"), strip.sound.filepath
        assert Path(sound_path(strip)).parent == blend.parent / "pixelplayer"
        assert Path(sound_path(strip)).is_file()
    assert by_role(scene, "pick")[1].volume == 0.5
    assert bpy.ops.sequencer.pixelplayer_analyze() == {"FINISHED"}
    assert work.session.current.analyses[str(clip.path.resolve())].cached
