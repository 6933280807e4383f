"""The pixel-level sound map rendered over a frame, as a PNG."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from . import media
from .files import atomic_path
from .analysis import Analysis

# Colour ramp for the heat (black-red-yellow-white), sampled at evenly spaced levels.
ALPHA = 0.75  # opacity of the loudest pixel
RAMP = np.array([[0, 0, 0], [120, 0, 60], [230, 40, 20], [255, 190, 0], [255, 255, 220]], np.float32)


def colourise(values: np.ndarray) -> np.ndarray:
    """Map values in [0, 1] to RGB float32 along :data:`RAMP`."""
    x = np.clip(values, 0, 1) * (len(RAMP) - 1)
    lo = np.minimum(x.astype(int), len(RAMP) - 2)
    return RAMP[lo] + (RAMP[lo + 1] - RAMP[lo]) * (x - lo)[..., None]


def heat_range(sound_maps: np.ndarray) -> tuple[float, float]:
    """A clip's quietest and loudest sound-map values, so every frame is drawn on the same scale."""
    return float(np.min(sound_maps)), float(np.max(sound_maps))


def heat(values: np.ndarray, low: float, high: float) -> np.ndarray:
    """Sound-map values with ``[low, high]`` stretched to [0, 1]."""
    return np.clip((values - low) / max(high - low, 1e-8), 0, 1)


def composite(frame: np.ndarray, sound_map: np.ndarray, low: float, high: float) -> np.ndarray:
    """Blend the map (upsampled to the frame) over an RGB frame; ``[low, high]`` is stretched to [0, 1]."""
    from PIL import Image

    h, w = frame.shape[:2]
    big = heat(np.asarray(Image.fromarray(sound_map.astype(np.float32)).resize((w, h), Image.BICUBIC)), low, high)
    alpha = ALPHA * big[..., None]
    return (frame * (1 - alpha) + colourise(big) * alpha).astype(np.uint8)


def export_png(analysis: Analysis, t: float, path: str | Path) -> Path:
    """Write the frame at time ``t`` with its sound map overlaid, scaled to the clip's quietest and loudest pixels."""
    from PIL import Image

    path = Path(path)
    with media.FrameReader(analysis.info.path) as reader:
        frame = reader.frame_at(t)
    low, high = heat_range(analysis.sound_maps)
    with atomic_path(path) as tmp:
        Image.fromarray(composite(frame, analysis.sound_map(t), low, high)).save(tmp, format="PNG")
    return path
