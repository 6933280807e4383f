"""Time Demucs's HTDemucs forward pass: the separator an editor would otherwise run.

Only ``demucs.htdemucs`` and ``demucs.apply`` are imported, which need ``einops`` and
``julius`` but neither torchaudio nor any weights: a randomly initialised network has the
cost of the trained one.  Audio goes through ``apply_model`` as ``demucs`` does by default
(7.8 s segments, 25 % overlap), without the random time shift, so the segment count is
fixed.  On a long clip a leading portion is timed and the cost extrapolated by segments.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import torch
from demucs.apply import apply_model
from demucs.htdemucs import HTDemucs

SAMPLE_RATE = 44100  # HTDemucs's rate
SEGMENT = Fraction(39, 5)  # the released htdemucs model's training segment (s)
OVERLAP = 0.25  # apply_model's default


@dataclass(frozen=True)
class Timing:
    """Wall and process CPU time of ``segments_timed`` segments, extrapolated to the whole audio."""

    timed_s: float
    timed_cpu_s: float
    timed_audio_s: float
    segments_timed: int
    segments_total: int

    @property
    def estimated_s(self) -> float:
        return self.timed_s * self.segments_total / self.segments_timed

    @property
    def estimated_cpu_s(self) -> float:
        return self.timed_cpu_s * self.segments_total / self.segments_timed


def segments(samples: int) -> int:
    """Segments ``apply_model`` runs over ``samples`` samples at 44.1 kHz."""
    length = int(SAMPLE_RATE * SEGMENT)
    return len(range(0, samples, int((1 - OVERLAP) * length)))


def time_forward(audio: np.ndarray, portion_s: float | None = None, seed: int = 0) -> Timing:
    """Separate ``audio`` (channels, samples) at 44.1 kHz, or its first ``portion_s`` seconds, and time it."""
    torch.manual_seed(seed)
    model = HTDemucs(sources=["drums", "bass", "other", "vocals"], audio_channels=audio.shape[0],
                     segment=SEGMENT).eval()
    timed = audio if portion_s is None else audio[:, : int(portion_s * SAMPLE_RATE)]
    mix = torch.from_numpy(np.ascontiguousarray(timed, dtype=np.float32))[None]
    start, start_cpu = time.perf_counter(), time.process_time()
    with torch.inference_mode():
        apply_model(model, mix, shifts=0, split=True, overlap=OVERLAP, progress=False)
    return Timing(time.perf_counter() - start, time.process_time() - start_cpu, timed.shape[1] / SAMPLE_RATE,
                  segments(timed.shape[1]), segments(audio.shape[1]))
