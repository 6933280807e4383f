"""Spectral front-end: the model's log-frequency spectrogram and the native-rate STFT.

torchaudio cannot load beside our torch, so everything here is ``torch.stft`` and
``torch.fft``.  The log-frequency warp is the paper's: row ``v`` of ``n`` rows
samples the linear spectrum at fraction ``(21**(v/(n-1)) - 1) / 20`` of Nyquist.
"""
from __future__ import annotations

import math

import numpy as np
import torch

from .config import ModelConfig

WARP_BASE = 21.0
LEVEL_DB = -16.0  # the level (dBFS RMS) the U-Net hears every window at: about the training mixtures' median
LEVEL_RANGE_DB = 20.0  # at most this much gain either way; windows under SILENCE_DB are left as they are
SILENCE_DB = -60.0


def log_row_of_fraction(u: np.ndarray, rows: int) -> np.ndarray:
    """Fractional log-spectrogram row of a frequency given as a fraction ``u`` of Nyquist."""
    return np.log1p((WARP_BASE - 1.0) * np.asarray(u)) / math.log(WARP_BASE) * (rows - 1)


def _interpolation(positions: np.ndarray, size: int) -> torch.Tensor:
    """``(len(positions), size)``: each row reads an axis of ``size`` points linearly at its fractional position."""
    lo = np.minimum(np.floor(positions).astype(int), size - 2)
    frac = positions - lo
    w = np.zeros((len(positions), size), np.float32)
    w[np.arange(len(positions)), lo] = 1.0 - frac
    w[np.arange(len(positions)), lo + 1] = frac
    return torch.from_numpy(w)


def _warp_matrix(linear_bins: int, rows: int) -> torch.Tensor:
    """``(rows, linear_bins)`` linear-interpolation matrix from the linear to the log-frequency axis."""
    u = (WARP_BASE ** (np.arange(rows) / (rows - 1)) - 1.0) / (WARP_BASE - 1.0)
    return _interpolation(u * (linear_bins - 1), linear_bins)


def unwarp_matrix(linear_bins: int, rows: int) -> torch.Tensor:
    """``(linear_bins, rows)``: each linear-frequency bin reads the log-frequency rows around it (a log-grid
    mask onto the model's own STFT)."""
    return _interpolation(log_row_of_fraction(np.arange(linear_bins) / (linear_bins - 1), rows), rows)


class FrontEnd:
    """Mono model-rate audio windows -> log-frequency magnitude spectrograms ``(B, 1, rows, frames)``."""

    def __init__(self, config: ModelConfig) -> None:
        self.config = config
        self.window = torch.hann_window(config.n_fft)
        self.warp = _warp_matrix(config.n_fft // 2 + 1, config.log_bins)

    def spectrum(self, audio: torch.Tensor) -> torch.Tensor:
        """Complex STFT ``(B, linear bins, frames)`` of ``(B, window_samples)`` audio on the model's grid."""
        c = self.config
        return torch.stft(audio, c.n_fft, c.hop, window=self.window.to(audio.device), center=True,
                          return_complex=True)[..., : c.frames]

    def inverse(self, spectrum: torch.Tensor) -> torch.Tensor:
        """``(B, linear bins, frames)`` -> ``(B, window_samples)`` audio (the inverse of :meth:`spectrum`)."""
        c = self.config
        pad = torch.nn.functional.pad(spectrum, (0, c.window_samples // c.hop + 1 - spectrum.shape[-1]))
        return torch.istft(pad, c.n_fft, c.hop, window=self.window.to(spectrum.device), center=True,
                           length=c.window_samples)

    def magnitude(self, audio: torch.Tensor) -> torch.Tensor:
        """Log-frequency magnitude of ``(B, window_samples)`` audio."""
        return (self.warp.to(audio.device) @ self.spectrum(audio).abs()).unsqueeze(1)

    @staticmethod
    def level_gain(audio: torch.Tensor) -> torch.Tensor:
        """``(B, samples)`` windows -> ``(B,)`` gains that bring each to :data:`LEVEL_DB`, so a quiet or a loud
        clip is separated as one at the level the model trained on (masks apply to the clip as it is)."""
        db = 10 * torch.log10(audio.square().mean(-1).clamp_min(1e-12))
        gain_db = (LEVEL_DB - db).clamp(-LEVEL_RANGE_DB, LEVEL_RANGE_DB)
        return torch.where(db < SILENCE_DB, torch.ones_like(db), 10 ** (gain_db / 20))

    @staticmethod
    def network_input(magnitude: torch.Tensor) -> torch.Tensor:
        """The U-Net sees log magnitudes (as in the paper)."""
        return torch.log(magnitude.clamp_min(1e-6))


class NativeSTFT:
    """A perfectly reconstructing STFT at the source's own rate: sqrt-Hann windows, 50 % overlap.

    Frame ``i`` is centred on sample ``i * hop``; every sample lies under exactly two
    frames whose squared windows sum to one, so masks summing to one add back exactly.
    """

    def __init__(self, sample_rate: int, window_seconds: float) -> None:
        self.n_fft = 2 ** round(math.log2(window_seconds * sample_rate))
        self.hop = self.n_fft // 2
        self.sample_rate = sample_rate
        self.window = torch.hann_window(self.n_fft).sqrt()

    @property
    def bins(self) -> int:
        return self.n_fft // 2 + 1

    def frames(self, samples: int) -> int:
        return -(-samples // self.hop) + 1

    def span(self, first: int, last: int, samples: int) -> tuple[int, int, int, int]:
        """What frames ``[first, last)`` of a ``samples``-long signal cover: its samples ``[start, stop)``,
        and the zeros ``before`` and ``after`` them beyond the signal's ends."""
        start, stop = (first - 1) * self.hop, last * self.hop
        return max(start, 0), min(stop, samples), max(-start, 0), max(stop - samples, 0)

    def analyse(self, audio: torch.Tensor, first: int, last: int) -> torch.Tensor:
        """Frames ``[first, last)`` of ``(C, N)`` audio -> complex ``(C, frames, bins)``."""
        start, stop, before, after = self.span(first, last, audio.shape[-1])
        return self.transform(audio[:, start:stop], before, after)

    def transform(self, segment: torch.Tensor, before: int, after: int) -> torch.Tensor:
        """The frames over the ``(C, n)`` samples :meth:`span` gave, padded with its zeros."""
        segment = torch.nn.functional.pad(segment, (before, after))
        return torch.fft.rfft(segment.unfold(-1, self.n_fft, self.hop) * self.window)

    def overlap_add(self, spectrum: torch.Tensor, out: torch.Tensor, first_frame: int) -> None:
        """Add the inverse of ``(C, frames, bins)`` frames starting at ``first_frame`` into padded ``out``.

        ``out`` is ``(C, (frames + 1) * hop)``; sample ``n`` of the signal sits at ``n + hop``.
        """
        frames = torch.fft.irfft(spectrum, n=self.n_fft) * self.window
        c, t, _ = frames.shape
        halves = frames.view(c, t, 2, self.hop)
        start = first_frame * self.hop
        out[:, start: start + t * self.hop].view(c, t, self.hop).add_(halves[:, :, 0])
        out[:, start + self.hop: start + (t + 1) * self.hop].view(c, t, self.hop).add_(halves[:, :, 1])
