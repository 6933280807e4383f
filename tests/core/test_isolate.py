"""Isolation and the clip's sound: native rate, channels and length; exact consistency; sharing; following."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from pixelplayer_blender.core import media
from pixelplayer_blender.core.analysis import Analysis
from pixelplayer_blender.core.config import PRESETS
from pixelplayer_blender.core.errors import PixelPlayerError
from pixelplayer_blender.core.separator import Separator
from pixelplayer_blender.core.clip import NativeGrid
from pixelplayer_blender.core.isolate import follow, model_masks, query_feature
from pixelplayer_blender.core.query import Point, Region
from tests.signals import snr_db


@pytest.fixture(scope="module")
def separator(tmp_path_factory, untrained_checkpoint):
    return Separator(checkpoint=untrained_checkpoint, cache_dir=tmp_path_factory.mktemp("stem-cache"))


def test_sources_keep_the_source_format_and_add_back(separator, format_clip):
    clip = format_clip
    analysis = separator.analyze(clip.path)
    original = media.decode_audio(clip.path)
    result = separator.isolate(analysis, [Point(*clip.point(0)), Region(0, 0, clip.width / 2, clip.height / 2)])
    assert result.sample_rate == clip.sample_rate
    assert len(result.sources) == 2
    for stem in result.sources:
        assert stem.audio.shape == original.shape and stem.audio.dtype == np.float32
        assert "untrained" in stem.label
    assert result.residual.shape == original.shape
    total = sum(s.audio for s in result.sources) + result.residual
    assert snr_db(original, total) > 40


def test_masks_of_simultaneous_queries_never_exceed_the_mixture(separator, duet):
    analysis = separator.analyze(duet.path)
    queries = [Point(*duet.point(0)), Point(*duet.point(0)), Point(*duet.point(1)), Region(0, 0, 100, 100)]
    followed = [follow(analysis, query_feature(analysis, q)) for q in queries]
    masks = model_masks(separator.model, analysis, [m for m, _ in followed], [p for _, p in followed])
    assert masks.shape == (4, analysis.config.log_bins, analysis.model_frames)
    assert masks.min() >= 0 and masks.sum(0).max() <= 1 + 1e-5


def test_a_faded_query_hands_its_share_to_the_residual(separator, duet):
    """Presence scales a query's share after sharing: fading one pick leaves the others' masks as they were."""
    analysis = separator.analyze(duet.path)
    followed = [follow(analysis, query_feature(analysis, Point(*duet.point(i)))) for i in range(2)]
    matched = [m for m, _ in followed]
    ones = [torch.ones(analysis.windows)] * 2
    full = model_masks(separator.model, analysis, matched, ones)
    faded = model_masks(separator.model, analysis, matched, [ones[0], 0.25 * ones[1]])
    assert torch.allclose(faded[0], full[0], atol=1e-6)
    assert torch.allclose(faded[1], 0.25 * full[1], atol=1e-6)


def test_full_band_application(separator, duet):
    analysis = separator.analyze(duet.path)
    clip = separator.clip(analysis)
    original = clip.audio()
    ones = torch.ones(1, analysis.config.log_bins, analysis.model_frames)
    assert snr_db(original, clip.separate(ones, analysis.config)[0][0]) > 60
    # Complementary masks split the mixture exactly, high band included.
    half = torch.rand(1, analysis.config.log_bins, analysis.model_frames)
    (a, b), _ = clip.separate(torch.cat([half, 1 - half]), analysis.config)
    assert snr_db(original, a + b) > 60
    # Above the model's Nyquist, native bins carry the mean mask of the top octave.
    grid = NativeGrid(analysis.config, clip.stft, analysis.model_frames)
    masks = torch.zeros(1, analysis.config.log_bins, analysis.model_frames)
    masks[:, grid.top] = 0.5
    native = grid(masks, 0, 10)
    freqs = np.arange(clip.stft.bins) * clip.stft.sample_rate / clip.stft.n_fft
    above = torch.from_numpy(freqs > analysis.config.sample_rate / 2)
    assert torch.allclose(native[..., above], torch.tensor(0.5))
    assert native[..., torch.from_numpy(freqs < 1000)].max() == 0


def test_queries_outside_the_frame(separator, duet):
    analysis = separator.analyze(duet.path)
    for bad in (Point(duet.width, 10), Point(-1, 10), Region(10, 10, 10, 50), Region(0, 0, duet.width + 1, 10)):
        with pytest.raises(PixelPlayerError, match="outside|empty"):
            separator.isolate(analysis, [bad])


def _synthetic_analysis(features: np.ndarray) -> Analysis:
    """An analysis with hand-made features (no model) to test query following."""
    config = PRESETS["tiny"]
    w, v = features.shape[:2]
    info = media.MediaInfo(None, "none", 30.0, 0, media.VideoInfo(80, 80, 25.0, "none"),
                           media.AudioInfo(11025, 1, "mono", "none"))
    return Analysis(info, config, "key", False, w * config.window_samples // 2,
                    np.zeros((w, v)), np.zeros((w, config.k, config.log_bins, config.frames), np.float16),
                    features.astype(np.float16), np.zeros(features.shape[:2] + features.shape[3:], np.float16),
                    np.zeros((w, 0), np.float16), np.zeros((w, 0, 1, 1), np.float16),
                    np.zeros((w, config.log_bins // 2, config.frames // 2), np.float16))


def test_a_query_follows_its_instrument_and_fades_when_it_leaves():
    k, size = PRESETS["tiny"].k, 8
    rng = np.random.default_rng(0)
    features = rng.uniform(0.0, 0.2, (4, 3, k, size, size))
    violin = np.zeros(k)
    violin[:3] = 1.0
    features[0, :, :, 2, 2] = violin  # starts top-left...
    features[1, :, :, 4, 4] = violin
    features[2, :, :, 6, 5] = violin  # ...moves away; window 3: gone
    analysis = _synthetic_analysis(features)
    matched, presence = follow(analysis, violin.astype(np.float32))
    assert torch.allclose(matched[:3], torch.tensor(violin, dtype=torch.float32).expand(3, -1), atol=1e-3)
    assert presence[:3].min() == 1 and presence[3] < 0.1


def test_the_refit_moves_simultaneous_picks_only(bundled_without, duet, tmp_path):
    """With the bundled model's refit, two picks heard together get refitted masks; a lone pick is isolated as
    by the same model without it."""
    def masks(separator: Separator, points: list[int]) -> torch.Tensor:
        analysis = separator.analyze(duet.path)
        followed = [follow(analysis, query_feature(analysis, Point(*duet.point(i)))) for i in points]
        return model_masks(separator.model, analysis, [m for m, _ in followed], [p for _, p in followed])

    refitted = Separator(cache_dir=tmp_path / "refit")
    plain = Separator(checkpoint=bundled_without("refit", refit=0), cache_dir=tmp_path / "plain")
    assert refitted.model.net.refit is not None and plain.model.net.refit is None
    assert torch.equal(masks(refitted, [0]), masks(plain, [0]))
    pair, plain_pair = masks(refitted, [0, 1]), masks(plain, [0, 1])
    assert (pair - plain_pair).abs().max() > 0.05
    assert pair.min() >= 0 and pair.sum(0).max() <= 1 + 1e-5
