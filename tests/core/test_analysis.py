"""Whole-clip analysis: windows, cache, cancellation, sound maps."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from pixelplayer_blender.core import soundmap
from pixelplayer_blender.core.analysis import ComponentStore, plan_windows
from pixelplayer_blender.core.config import PRESETS
from pixelplayer_blender.core.errors import Cancelled, PixelPlayerError
from pixelplayer_blender.core.query import Point
from pixelplayer_blender.core.separator import Separator
from tests.signals import snr_db


@pytest.fixture(scope="module")
def separator(tmp_path_factory):
    return Separator(cache_dir=tmp_path_factory.mktemp("analysis-cache"))


def test_windows_cover_the_clip_with_half_overlap():
    config = PRESETS["lite"]
    for samples in (11025, config.window_samples, 10 * config.window_samples + 17):
        starts = plan_windows(samples, config)
        assert starts[0] == 0 and starts[-1] + config.window_samples >= samples
        assert np.all(np.diff(starts) == config.window_samples // 2)


def test_analysis_is_cached_and_reused(separator, duet):
    steps = []
    first = separator.analyze(duet.path, progress=lambda f, m: steps.append(f))
    assert steps == sorted(steps) and steps[-1] == 1.0
    assert first.windows == 2  # 8 s = two 50 %-overlapping windows of 5.94 s
    assert first.frame_times.shape == (2, 3)
    assert first.features.shape[:3] == (2, 3, first.config.k)
    second = separator.analyze(duet.path)
    assert not first.cached and second.cached
    # Both read their components from the cache file, window by window: nothing large stays in memory.
    assert isinstance(first.components, ComponentStore) and isinstance(second.components, ComponentStore)
    assert second.components.shape == (2, first.config.k, first.config.log_bins, first.config.frames)
    assert np.array_equal(first.components[1], second.components[1])
    assert np.array_equal(first.features, second.features)
    assert np.array_equal(first.sound_maps, second.sound_maps)
    assert len(list(separator.cache_dir.iterdir())) == 1


def test_cancel_leaves_nothing_behind(tmp_path, duet):
    sep = Separator(cache_dir=tmp_path / "cache")
    with pytest.raises(Cancelled):
        sep.analyze(duet.path, cancel=lambda: True)
    assert not (tmp_path / "cache").exists() or not any((tmp_path / "cache").iterdir())


def test_unwritable_cache_is_a_clear_error(tmp_path, duet):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(PixelPlayerError, match="cannot write the analysis cache"):
        Separator(cache_dir=blocker / "cache").analyze(duet.path)


def test_a_quieter_copy_is_separated_the_same(separator, make_clip):
    """Every window reaches the U-Net at one level: a copy of a clip 12 dB quieter (16-bit audio, whose noise
    floor alone moves the faintest bins) gives the same components and the same stem."""
    loud, quiet = (make_clip(f"level{db}.mkv", audio_codec="pcm_s16le", seed=3, gain_db=db) for db in (0, -12))
    a, b = separator.analyze(loud.path), separator.analyze(quiet.path)
    assert len(a.components) == len(b.components) == a.windows
    for w in range(a.windows):
        x, y = a.components[w].astype(np.float32), b.components[w].astype(np.float32)
        assert np.linalg.norm(x - y) < 0.1 * np.linalg.norm(x)
    stem = separator.isolate(a, [Point(*loud.point(0))]).sources[0].audio
    same = separator.isolate(b, [Point(*quiet.point(0))]).sources[0].audio * 10 ** (12 / 20)
    assert snr_db(stem, same) > 14


def test_sound_map_and_png(separator, duet, tmp_path):
    analysis = separator.analyze(duet.path)
    smap = analysis.sound_map(4.0)
    assert smap.dtype == np.float32 and smap.ndim == 2 and 0 <= smap.min() and smap.max() <= 1
    png = soundmap.export_png(analysis, 4.0, tmp_path / "map.png")
    with Image.open(png) as im:
        assert im.size == (duet.width, duet.height) and im.mode == "RGB"


@pytest.mark.parametrize("kind", ["short", "silent-video", "no-audio"])
def test_unusable_clips(separator, make_clip, kind):
    clip = {
        "short": lambda: make_clip("short.mp4", seconds=0.6),
        "silent-video": lambda: make_clip("noaudio.mp4", audio=False),
        "no-audio": lambda: make_clip("novideo.mkv", video=False),
    }[kind]()
    expected = {"short": "at least 1 s", "silent-video": "no audio stream", "no-audio": "no video stream"}[kind]
    with pytest.raises(PixelPlayerError, match=expected):
        separator.analyze(clip.path)
