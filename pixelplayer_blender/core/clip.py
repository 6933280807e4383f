"""A clip's own sound, and masks on the model's grid applied to it at full band.

Isolation reads the analysis (a cached record of network outputs) for its masks and hands them
here, where the original is decoded once (native rate, all channels) into an anonymous scratch
file, transformed with a perfectly reconstructing STFT, masked and inverted block by block.
Sources and residual are written block by block to scratch files and handed out memory-mapped,
so memory does not grow with the clip.  The STFT is kept whole when it fits
:data:`SPECTRUM_BUDGET`, otherwise computed block by block.
"""
from __future__ import annotations

import tempfile
import threading
from pathlib import Path
from typing import BinaryIO, Iterator

import numpy as np
import torch

from . import media
from .config import ModelConfig
from .progress import Cancel, Progress, check, never, quiet
from .spectral import NativeSTFT, log_row_of_fraction

SPECTRUM_BUDGET = 256 << 20  # keep the native STFT in memory up to this size
BLOCK_FRAMES = 128  # native STFT frames per block when applying masks (cache-sized; FFT batches, so outputs, follow it)
REMIX_BLOCK = 1 << 18  # samples per block of a remix


def scratch_file(directory: Path) -> BinaryIO:
    """An anonymous file in ``directory``: on disk, never in a listing, gone with its last handle."""
    directory.mkdir(parents=True, exist_ok=True)
    return tempfile.TemporaryFile(dir=directory)


def mapped(file: BinaryIO, samples: int, channels: int) -> np.ndarray:
    """``(channels, samples)`` float32 view of a scratch file holding ``(samples, channels)`` interleaved."""
    return np.memmap(file, np.float32, "r", shape=(samples, channels)).T


def read_at(file: BinaryIO, size: int, offset: int) -> bytearray:
    """``size`` bytes of ``file`` from ``offset`` (portable: ``os.pread`` is not on Windows); not thread-safe."""
    data = bytearray(size)
    file.seek(offset)
    file.readinto(data)
    return data


def append(file: BinaryIO, block: np.ndarray) -> None:
    """Write ``(channels, n)`` samples at the end of an interleaved scratch file."""
    file.write(np.ascontiguousarray(block.T, np.float32).data)


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
        self.below = int(np.count_nonzero(freqs <= nyquist))  # the bins above take the top-octave mean
        lo = np.minimum(np.floor(rows[: self.below]).astype(int), config.log_bins - 2)
        self.f_lo = torch.from_numpy(lo)
        self.f_frac = torch.from_numpy((rows[: self.below] - lo).astype(np.float32))
        self.bins = stft.bins
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
        timed = torch.lerp(a, b, t_frac).transpose(1, 2)  # (Q, n, F)
        out = torch.empty(*timed.shape[:2], self.bins)
        torch.lerp(timed[:, :, self.f_lo], timed[:, :, self.f_lo + 1], self.f_frac, out=out[:, :, : self.below])
        out[:, :, self.below:] = timed[:, :, self.top].mean(2, keepdim=True)
        return out


class ClipAudio:
    """The original audio of ``path`` at its native rate and channels, and its STFT on the model's window.

    Decoded once into an anonymous file in ``scratch`` (a folder on disk), read back block by block.
    """

    def __init__(self, path: Path, sample_rate: int, config: ModelConfig, scratch: Path) -> None:
        self.path = path
        self.sample_rate = sample_rate
        self.scratch = scratch
        self.stft = NativeSTFT(sample_rate, config.n_fft / config.sample_rate)
        self._file: BinaryIO | None = None
        self._lock = threading.Lock()
        self._samples = self._channels = 0
        self._spectrum: torch.Tensor | None = None

    def decode(self) -> Iterator[np.ndarray]:
        """Decode the clip into the scratch file, handing each ``(channels, n)`` block on as it comes."""
        file = scratch_file(self.scratch)
        samples = channels = 0
        for block in media.audio_blocks(self.path):
            append(file, block)
            samples, channels = samples + block.shape[1], block.shape[0]
            yield block
        file.flush()
        self._file, self._samples, self._channels = file, samples, channels

    def _decoded(self) -> BinaryIO:
        if self._file is None:
            for _ in self.decode():
                pass
        return self._file

    @property
    def samples(self) -> int:
        """Length at the native rate (the clip is decoded on first use: after a cached analysis, say)."""
        self._decoded()
        return self._samples

    @property
    def channels(self) -> int:
        self._decoded()
        return self._channels

    def read(self, start: int, stop: int) -> np.ndarray:
        """Samples ``[start, stop)`` as a writable ``(channels, n)`` float32 view of interleaved samples,
        read through the page cache."""
        file = self._decoded()
        width = 4 * self.channels
        with self._lock:
            data = read_at(file, (stop - start) * width, start * width)
        return np.frombuffer(data, np.float32).reshape(-1, self.channels).T

    def audio(self) -> np.ndarray:
        """``(channels, samples)`` float32, memory-mapped from the scratch file (decoded on first use)."""
        return mapped(self._decoded(), self.samples, self.channels)

    def prepare(self) -> None:
        """Decode the audio and keep its STFT if it fits :data:`SPECTRUM_BUDGET`: clicks then start at once."""
        self._decoded()
        stft = self.stft
        frames = stft.frames(self.samples)
        if self._spectrum is None and frames * stft.bins * self.channels * 8 <= SPECTRUM_BUDGET:
            self._spectrum = stft.analyse(torch.from_numpy(self.read(0, self.samples)), 0, frames)

    def spectrum(self, first: int, last: int) -> torch.Tensor:
        """Native STFT frames ``[first, last)``, ``(C, frames, bins)``."""
        self.prepare()
        if self._spectrum is not None:
            return self._spectrum[:, first:last]
        start, stop, before, after = self.stft.span(first, last, self.samples)
        return self.stft.transform(torch.from_numpy(self.read(start, stop)), before, after)

    def separate(self, masks: torch.Tensor, config: ModelConfig, progress: Progress = quiet,
                 cancel: Cancel = never) -> tuple[list[np.ndarray], np.ndarray]:
        """Sources at the native rate, channels and length from ``(Q, F, model_frames)`` masks on
        ``config``'s grid, and the residual: the original minus all sources.

        Block by block: each block's frames are inverted into a buffer that starts with the previous
        block's overlapping half, so every sample is summed exactly as a whole-clip overlap-add sums it.
        """
        self.prepare()
        stft, hop, samples = self.stft, self.stft.hop, self.samples
        frames = stft.frames(samples)
        grid = NativeGrid(config, stft, masks.shape[-1])
        files = [scratch_file(self.scratch) for _ in range(masks.shape[0] + 1)]
        carry = torch.zeros(masks.shape[0], hop, self.channels)
        for first in range(0, frames, BLOCK_FRAMES):
            check(cancel)
            progress(first / frames, "inverting")
            last = min(first + BLOCK_FRAMES, frames)
            spectrum = self.spectrum(first, last)
            native = grid(masks, first, last)
            # Interleaved like the scratch files, so that blocks are written without reordering.
            outs = torch.zeros(masks.shape[0], (last - first + 1) * hop, self.channels)
            outs[:, :hop] = carry
            for q in range(masks.shape[0]):
                stft.overlap_add(spectrum * native[q], outs[q].T, 0)
            carry = outs[:, -hop:].clone()
            # outs[:, i] is sample base + i; the last hop samples are not complete yet.
            base = first * hop - hop
            lo, hi = max(base, 0), min(last * hop - hop, samples)
            if hi <= lo:
                continue
            done = outs[:, lo - base: hi - base].numpy().transpose(0, 2, 1)
            residual = self.read(lo, hi)
            for file, source in zip(files, done):
                append(file, source)
                residual -= source
            append(files[-1], residual)
        for file in files:
            file.flush()
        arrays = [mapped(f, samples, self.channels) for f in files]
        return arrays[:-1], arrays[-1]

    def remix(self, sources: list[np.ndarray], gains: list[float]) -> np.ndarray:
        """The original plus ``gain - 1`` times each source (linear gains), block by block, memory-mapped."""
        file = scratch_file(self.scratch)
        for start in range(0, self.samples, REMIX_BLOCK):
            stop = min(start + REMIX_BLOCK, self.samples)
            out = self.read(start, stop)
            for source, gain in zip(sources, gains):
                out += (gain - 1.0) * media.read_block(source, start, stop)
            append(file, out)
        file.flush()
        return mapped(file, self.samples, self.channels)
