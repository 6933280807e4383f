"""Memory that does not grow with the clip: blocks give exactly the whole-clip result, stems live in files."""
from __future__ import annotations

import sys

import numpy as np
import pytest

from pixelplayer_blender.core import clip as clip_module
from pixelplayer_blender.core import media
from pixelplayer_blender.core.clip import ClipAudio, append, mapped, scratch_file
from pixelplayer_blender.core.query import Point, Region
from pixelplayer_blender.core.separator import Separator


@pytest.fixture(scope="module")
def separator(tmp_path_factory, untrained_checkpoint):
    return Separator(checkpoint=untrained_checkpoint, cache_dir=tmp_path_factory.mktemp("stream-cache"))


def test_block_by_block_isolation_is_bit_for_bit_the_whole_clip_one(separator, duet, monkeypatch):
    analysis = separator.analyze(duet.path)
    queries = [Point(*duet.point(0), time=1.0), Region(0, 0, 160, 90, time=1.0)]
    whole = separator.isolate(analysis, queries)  # the 8 s clip's spectrum fits the budget: kept whole
    monkeypatch.setattr(clip_module, "SPECTRUM_BUDGET", 0)  # as for a long clip: each block's STFT from the file
    fresh = ClipAudio(duet.path, duet.sample_rate, analysis.config, separator.cache_dir)
    sources, residual = fresh.separate(*_masks(separator, analysis, queries))
    assert fresh._spectrum is None and fresh.stft.frames(fresh.samples) > clip_module.BLOCK_FRAMES  # 2 blocks
    for stem, source in zip(whole.sources, sources):
        assert np.array_equal(stem.audio, source)
    assert np.array_equal(whole.residual, residual)
    # Stems and rest add back to the decoded original, which the clip never held in memory.
    original = media.decode_audio(duet.path)
    assert np.array_equal(fresh.audio(), original)
    total = residual.copy()
    for source in sources:
        total += source
    assert np.abs(total - original).max() < 1e-6


def _masks(separator, analysis, queries):
    from pixelplayer_blender.core.isolate import follow, model_masks, query_feature

    followed = [follow(analysis, query_feature(analysis, q)) for q in queries]
    return model_masks(separator.model, analysis, [m for m, _ in followed], [p for _, p in followed]), analysis.config


def test_stems_are_memory_mapped_and_leave_no_file(separator, duet):
    analysis = separator.analyze(duet.path)
    result = separator.isolate(analysis, [Point(*duet.point(1))])
    assert isinstance(result.sources[0].audio, np.memmap) and isinstance(result.residual, np.memmap)
    remix = separator.remix(analysis, [(Point(*duet.point(1)), -6.0)])
    assert isinstance(remix, np.memmap) and remix.shape == result.residual.shape
    # Scratch files are anonymous: the cache folder holds the analysis entry only.
    assert [p.name for p in separator.cache_dir.iterdir()] == [analysis.key]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/status")
def test_writing_a_mapped_stem_does_not_pull_it_into_memory(tmp_path):
    def rss_mb() -> float:
        with open("/proc/self/status") as f:
            return int(next(line for line in f if line.startswith("VmRSS:")).split()[1]) / 1024

    file = scratch_file(tmp_path)
    rng = np.random.default_rng(0)
    for _ in range(24):
        append(file, rng.uniform(-1, 1, (2, 1 << 20)).astype(np.float32))  # 192 MB in all
    file.flush()
    stem = mapped(file, 24 << 20, 2)
    before = rss_mb()
    media.write_audio(tmp_path / "stem.wav", stem, 48000)
    assert rss_mb() - before < 48
    np.asarray(stem).max()  # reading it whole the ordinary way does map it all in: the check can fail
    assert rss_mb() - before > 150
