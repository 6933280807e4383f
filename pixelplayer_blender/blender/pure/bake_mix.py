"""The arithmetic of a baked remix: per-sample gains from frame-rate levels, and the mix.

Pure numpy, no ``bpy``: :mod:`.bake` evaluates the strips' volume F-curves through these.
"""
from __future__ import annotations

import math
from typing import Callable

import numpy as np


def sample_frames(samples: int, sample_rate: int, fps: float, frame_start: float, sound_offset: float = 0.0) -> np.ndarray:
    """The timeline frame at which each of a sound strip's ``samples`` plays."""
    return frame_start + (np.arange(samples) / sample_rate - sound_offset) * fps


def gains(frames: np.ndarray, level: Callable[[float], float]) -> np.ndarray:
    """``level`` evaluated at every whole frame the samples span, linearly interpolated per sample."""
    whole = np.arange(math.floor(frames.min()), math.ceil(frames.max()) + 1)
    return np.interp(frames, whole, [level(float(f)) for f in whole]).astype(np.float32)


def mix(parts: list[tuple[np.ndarray, float | np.ndarray]]) -> np.ndarray:
    """Sum ``(audio (channels, samples), gain)`` parts; a gain is a constant or one value per sample."""
    if not parts:
        raise ValueError("nothing to mix")
    out = np.zeros_like(parts[0][0], np.float32)
    for audio, gain in parts:
        out += audio * gain
    return out
