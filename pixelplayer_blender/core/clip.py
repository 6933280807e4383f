"""A clip's own sound, and masks on the model's grid applied to it at full band.

Isolation reads the analysis (a cached record of network outputs) for its masks and hands them
here, where the original is decoded once (native rate, all channels), transformed with a
perfectly reconstructing STFT, masked and inverted.  The STFT is kept whole when it fits
:data:`SPECTRUM_BUDGET`, otherwise computed block by block.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from . import media
from .config import ModelConfig
from .spectral import NativeSTFT, log_row_of_fraction

SPECTRUM_BUDGET = 256 << 20  # keep the native STFT in memory up to this size
BLOCK_FRAMES = 128  # native STFT frames per block when applying masks (cache-sized)


class NativeGrid:
    """Linear interpolation of model-grid masks onto the native STFT grid of one clip.

    Frequency: each native bin reads the log-frequency rows around it; bins above the
    model's Nyquist take the mean mask of the model's top octave, frame by frame.
    Time: each native frame reads the model frames around its centre.
    """

    def __init__(self, config: ModelConfig, stft: NativeSTFT, model_frames: int) -> None:
        nyquist = config.sample_rate / 2
        freqs = np.arange(stft.bins) * stft.sample_rate / stft.n_fft
        rows = log_row_of_fraction(np.minimum(freqs / nyquist, 1.0), config.log_bins)
        lo = np.minimum(np.floor(rows).astype(int), config.log_bins - 2)
        frac = rows - lo
        above = freqs > nyquist
        lo[above], frac[above] = config.log_bins, 0.0  # row F is the top-octave mean
        self.f_lo = torch.from_numpy(lo)
        self.f_frac = torch.from_numpy(frac.astype(np.float32))
        top = int(np.ceil(log_row_of_fraction(0.5, config.log_bins)))
        self.top = slice(top, config.log_bins)
        self.model_frames = model_frames
        self.frames_per_native = stft.hop / stft.sample_rate * config.sample_rate / config.hop

    def __call__(self, masks: torch.Tensor, first: int, last: int) -> torch.Tensor:
        """``(Q, F, model_frames)`` -> ``(Q, last - first, native bins)`` for native frames [first, last)."""
        pos = torch.arange(first, last, dtype=torch.float64) * self.frames_per_native
        t_lo = pos.floor().long().clamp(max=self.model_frames - 2)
        t_frac = (pos - t_lo).clamp(0, 1).float()
        a, b = masks[:, :, t_lo], masks[:, :, t_lo + 1]
        timed = torch.lerp(a, b, t_frac)  # (Q, F, n)
        timed = torch.cat([timed, timed[:, self.top].mean(1, keepdim=True)], 1).transpose(1, 2)  # (Q, n, F+1)
        hi = (self.f_lo + 1).clamp(max=timed.shape[2] - 1)
        return torch.lerp(timed[:, :, self.f_lo], timed[:, :, hi], self.f_frac)


class ClipAudio:
    """The original audio of ``path`` at its native rate and channels, and its STFT on the model's window."""

    def __init__(self, path: Path, sample_rate: int, config: ModelConfig, audio: np.ndarray | None = None) -> None:
        self.path = path
        self.sample_rate = sample_rate
        self.stft = NativeSTFT(sample_rate, config.n_fft / config.sample_rate)
        self._audio = audio
        self._spectrum: torch.Tensor | None = None

    def audio(self) -> np.ndarray:
        """``(channels, samples)`` float32, decoded on first use."""
        if self._audio is None:
            self._audio = media.decode_audio(self.path)
        return self._audio

    def prepare(self) -> None:
        """Decode the audio and keep its STFT if it fits :data:`SPECTRUM_BUDGET`: clicks then start at once."""
        stft, audio = self.stft, torch.from_numpy(self.audio())
        frames = stft.frames(audio.shape[1])
        if self._spectrum is None and frames * stft.bins * audio.shape[0] * 8 <= SPECTRUM_BUDGET:
            self._spectrum = stft.analyse(audio, 0, frames)

    def spectrum(self, first: int, last: int) -> torch.Tensor:
        """Native STFT frames ``[first, last)``, ``(C, frames, bins)``."""
        self.prepare()
        if self._spectrum is not None:
            return self._spectrum[:, first:last]
        return self.stft.analyse(torch.from_numpy(self.audio()), first, last)

    def separate(self, masks: torch.Tensor, config: ModelConfig) -> tuple[list[np.ndarray], np.ndarray]:
        """Sources at the native rate, channels and length from ``(Q, F, model_frames)`` masks on
        ``config``'s grid, and the residual: the original minus all sources."""
        audio = self.audio()
        channels, samples = audio.shape
        stft = self.stft
        frames = stft.frames(samples)
        grid = NativeGrid(config, stft, masks.shape[-1])
        outs = torch.zeros(masks.shape[0], channels, (frames + 1) * stft.hop)
        for first in range(0, frames, BLOCK_FRAMES):
            last = min(first + BLOCK_FRAMES, frames)
            spectrum = self.spectrum(first, last)
            native = grid(masks, first, last)
            for q in range(masks.shape[0]):
                stft.overlap_add(spectrum * native[q], outs[q], first)
        sources = [o[:, stft.hop: stft.hop + samples].numpy() for o in outs]
        residual = audio.copy()
        for source in sources:
            residual -= source
        return sources, residual
