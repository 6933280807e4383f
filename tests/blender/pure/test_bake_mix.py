"""The baked remix's arithmetic: sample timing, per-sample gains from frame-rate levels, the mix."""
import numpy as np
import pytest

from pixelplayer_blender.blender.pure import bake_mix as remix


def test_samples_land_on_the_timeline_frames_they_play_at():
    frames = remix.sample_frames(44101, 44100, 25.0, frame_start=10)
    assert frames[0] == 10 and frames[-1] == pytest.approx(35)
    assert remix.sample_frames(3, 100, 25.0, frame_start=10, sound_offset=0.04)[0] == pytest.approx(9)


def test_levels_are_evaluated_at_whole_frames_and_interpolated_between():
    evaluated = []

    def step(frame):
        evaluated.append(frame)
        return 1.0 if frame < 12 else 0.0

    gains = remix.gains(remix.sample_frames(200, 100, 25.0, frame_start=10.5), step)
    assert evaluated == list(range(10, 62))  # samples play from frame 10.5 to 60.25
    # Samples 0..6 play at frames 10.5, 10.75, ..., 12: full level up to frame 11, then a ramp to 0 at 12.
    np.testing.assert_allclose(gains[:7], [1, 1, 1, 0.75, 0.5, 0.25, 0])
    assert np.all(gains[6:] == 0.0) and gains.dtype == np.float32


def test_linear_levels_are_exact_per_sample():
    frames = remix.sample_frames(1000, 1000, 24.0, frame_start=1)
    np.testing.assert_allclose(remix.gains(frames, lambda f: 0.1 * f), 0.1 * frames, rtol=1e-6)


def test_mix_sums_parts_at_constant_and_per_sample_gains():
    a = np.ones((2, 4), np.float32)
    b = np.arange(8, dtype=np.float32).reshape(2, 4)
    ramp = np.array([0, 0.5, 1, 1], np.float32)
    np.testing.assert_allclose(remix.mix([(a, 0.5), (b, ramp)]), 0.5 * a + b * ramp)
    with pytest.raises(ValueError):
        remix.mix([])
