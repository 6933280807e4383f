"""The spectral front-end and the native-rate STFT."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from pixelplayer_blender.core.config import PRESETS
from pixelplayer_blender.core.spectral import (LEVEL_DB, LEVEL_RANGE_DB, FrontEnd, NativeSTFT, log_row_of_fraction,
                                                 unwarp_matrix)


@pytest.mark.parametrize("rate", [8000, 22050, 44100, 96000])
def test_native_stft_reconstructs_perfectly_in_blocks(rate):
    stft = NativeSTFT(rate, 1022 / 11025)
    audio = torch.randn(3, rate + 1234)
    frames = stft.frames(audio.shape[1])
    whole = stft.analyse(audio, 0, frames)
    assert whole.shape == (3, frames, stft.bins)
    out = torch.zeros(3, (frames + 1) * stft.hop)
    for first in range(0, frames, 7):
        block = stft.analyse(audio, first, min(first + 7, frames))
        assert torch.equal(block, whole[:, first: first + 7])
        stft.overlap_add(block, out, first)
    assert torch.allclose(out[:, stft.hop: stft.hop + audio.shape[1]], audio, atol=1e-5)


def test_native_window_matches_the_model_window():
    assert NativeSTFT(48000, 1022 / 11025).n_fft == 4096
    assert NativeSTFT(11025, 1022 / 11025).n_fft == 1024
    assert NativeSTFT(8000, 1022 / 11025).n_fft == 1024


def test_log_frequency_warp_is_the_papers():
    config = PRESETS["tiny"]
    front = FrontEnd(config)
    rows = config.log_bins
    # Row v samples the linear spectrum at (21**(v/(rows-1)) - 1) / 20 of Nyquist; the inverse maps back.
    u = (21.0 ** (np.arange(rows) / (rows - 1)) - 1) / 20
    assert np.allclose(log_row_of_fraction(u, rows), np.arange(rows))
    assert torch.allclose(front.warp.sum(1), torch.ones(rows))
    # A pure tone lights up the rows around its frequency only.
    t = torch.arange(config.window_samples) / config.sample_rate
    mag = front.magnitude(torch.sin(2 * torch.pi * 1000.0 * t)[None])
    assert mag.shape == (1, 1, rows, config.frames)
    peak = int(mag[0, 0].mean(1).argmax())
    assert abs(peak - log_row_of_fraction(1000.0 / (config.sample_rate / 2), rows)) < 2


def test_a_log_grid_mask_applies_on_the_models_own_stft():
    config = PRESETS["tiny"]
    front = FrontEnd(config)
    audio = torch.randn(2, config.window_samples)
    spectrum = front.spectrum(audio)
    assert spectrum.shape == (2, config.n_fft // 2 + 1, config.frames)
    back = front.inverse(spectrum)
    tail = config.n_fft  # the frame centred on the last sample is not kept
    assert back.shape == audio.shape and torch.allclose(back[:, :-tail], audio[:, :-tail], atol=1e-4)
    unwarp = unwarp_matrix(config.n_fft // 2 + 1, config.log_bins)
    assert torch.allclose(unwarp.sum(1), torch.ones(unwarp.shape[0]))
    # A mask passing the rows around 1 kHz only keeps a 1 kHz tone and drops a 3 kHz one.
    t = torch.arange(config.window_samples) / config.sample_rate
    low, high = (torch.sin(2 * torch.pi * f * t) for f in (1000.0, 3000.0))
    mask = torch.zeros(config.log_bins, config.frames)
    row = round(float(log_row_of_fraction(1000.0 / (config.sample_rate / 2), config.log_bins)))
    mask[row - 8: row + 9] = 1
    kept = front.inverse(front.spectrum((low + high)[None]) * (unwarp @ mask))[0, tail:-tail]  # ends: padding
    assert torch.allclose(kept, low[tail:-tail], atol=0.01)


def test_every_window_is_heard_at_one_level():
    """A window 12 dB quieter or louder than another reaches the U-Net the same; silence is left alone, and no
    window is raised or lowered by more than the range."""
    config = PRESETS["tiny"]
    front = FrontEnd(config)
    audio = 0.1 * torch.randn(1, config.window_samples)  # -20 dBFS
    windows = torch.cat([audio, audio * 4, audio / 4, torch.zeros_like(audio), audio * 0.02])
    gains = front.level_gain(windows)
    levelled = front.magnitude(windows) * gains[:, None, None, None]
    assert torch.allclose(levelled[1], levelled[0], rtol=1e-4) and torch.allclose(levelled[2], levelled[0], rtol=1e-4)
    rms_db = 10 * torch.log10((windows[0] * gains[0]).square().mean())
    assert abs(float(rms_db) - LEVEL_DB) < 1e-3
    assert gains[3] == 1.0
    assert torch.isclose(gains[4], torch.tensor(10 ** (LEVEL_RANGE_DB / 20)))
