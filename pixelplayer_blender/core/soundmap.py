"""The pixel-level sound map drawn over a frame: one layer for the PNG and the Blender preview.

A map value is the share of the mixture's energy that a pixel's mask claims (with a tagger, only as
far as what the pixel looks like is heard in the clip).  Every frame of a
clip is drawn on the clip's own scale (its quietest and loudest pixel), and only where the map is
confident (the upper part of that scale): elsewhere the picture stays as it is.  The PNG adds a
legend and numbered markers for the clicks.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from . import media
from .analysis import Analysis
from .files import atomic_path
from .query import Query

ALPHA = 0.75  # opacity of the loudest pixel
CONFIDENT = 0.5  # heat (0..1 on the clip's scale) below which nothing is drawn
# Colour ramp of the drawn heat (red-orange-yellow-white), sampled at evenly spaced levels.
RAMP = np.array([[150, 0, 40], [230, 40, 20], [255, 150, 0], [255, 220, 60], [255, 255, 220]], np.float32)
MARKER_RGB = (40, 220, 255)


def colourise(values: np.ndarray) -> np.ndarray:
    """Map values in [0, 1] to RGB float32 (0..255) along :data:`RAMP`."""
    x = np.clip(values, 0, 1) * (len(RAMP) - 1)
    lo = np.minimum(x.astype(int), len(RAMP) - 2)
    return RAMP[lo] + (RAMP[lo + 1] - RAMP[lo]) * (x - lo)[..., None]


def heat_range(sound_maps: np.ndarray) -> tuple[float, float]:
    """A clip's quietest and loudest sound-map values, so every frame is drawn on the same scale."""
    return float(np.min(sound_maps)), float(np.max(sound_maps))


def heat(values: np.ndarray, low: float, high: float) -> np.ndarray:
    """Sound-map values with ``[low, high]`` stretched to [0, 1]."""
    return np.clip((values - low) / max(high - low, 1e-8), 0, 1)


def layer(sound_map: np.ndarray, low: float, high: float) -> np.ndarray:
    """The ``(h, w, 4)`` float32 RGBA in [0, 1] drawn over the frame (stretched over it, linearly filtered).

    Colour and opacity grow from :data:`CONFIDENT` on the ``[low, high]`` scale; below it the layer is
    transparent.
    """
    shown = np.clip((heat(sound_map, low, high) - CONFIDENT) / (1 - CONFIDENT), 0, 1)
    rgba = np.concatenate([colourise(shown) / 255, (ALPHA * shown)[..., None]], axis=-1)
    return rgba.astype(np.float32)


def composite(frame: np.ndarray, rgba: np.ndarray) -> np.ndarray:
    """Blend an RGBA layer (any size: bilinearly stretched, as the preview's texture is) over an RGB frame."""
    from PIL import Image

    h, w = frame.shape[:2]
    big = np.stack([np.asarray(Image.fromarray(c).resize((w, h), Image.BILINEAR)) for c in rgba.transpose(2, 0, 1)],
                   axis=-1)
    colour, alpha = big[..., :3] * 255, big[..., 3:]
    return (frame * (1 - alpha) + colour * alpha).round().clip(0, 255).astype(np.uint8)


def _font(size: int):
    from PIL import ImageFont

    return ImageFont.load_default(size=size)


def draw_markers(image, points: list[tuple[float, float]]) -> None:
    """A numbered ring at each clicked point (source pixels), in click order."""
    from PIL import ImageDraw

    draw = ImageDraw.Draw(image)
    r = max(6, round(min(image.size) * 0.03))
    font = _font(max(10, round(r * 1.3)))
    for n, (x, y) in enumerate(points, 1):
        draw.ellipse((x - r, y - r, x + r, y + r), outline=(0, 0, 0), width=max(2, r // 3) + 2)
        draw.ellipse((x - r, y - r, x + r, y + r), outline=MARKER_RGB, width=max(2, r // 3))
        draw.text((x + r + 2, y - r), str(n), fill=MARKER_RGB, font=font, stroke_width=2, stroke_fill=(0, 0, 0))


def draw_legend(image, low: float, high: float) -> None:
    """A colour bar with the shares of the mix it spans, bottom right (what is not drawn is quieter)."""
    from PIL import Image, ImageDraw

    w, h = image.size
    bar_w, bar_h, pad = max(80, w // 4), max(8, h // 40), max(6, h // 60)
    font = _font(max(10, bar_h + 2))
    top = h - pad - bar_h
    left = w - pad - bar_w
    ramp = colourise(np.linspace(0, 1, bar_w))[None].repeat(bar_h, 0).astype(np.uint8)
    draw = ImageDraw.Draw(image)
    title = "sound map: share of the mix a pixel claims"
    tick_y = top - font.size - 4
    title_y = tick_y - font.size - 4
    box = (min(left, w - pad - draw.textlength(title, font=font)) - 4, title_y - 4, w - pad + 4, h - pad + 4)
    draw.rectangle(box, fill=(0, 0, 0))
    image.paste(Image.fromarray(ramp), (left, top))
    confident = low + CONFIDENT * (high - low)
    draw.text((box[0] + 4, title_y), title, fill=(255, 255, 255), font=font)
    draw.text((left, tick_y), f"{confident:.0%}", fill=(255, 255, 255), font=font)
    text = f"{high:.0%}"
    draw.text((w - pad - draw.textlength(text, font=font), tick_y), text, fill=(255, 255, 255), font=font)


def export_png(analysis: Analysis, t: float, path: str | Path, points: list[Query] = ()) -> Path:
    """Write the frame at time ``t`` with its sound map, a legend and a marker per clicked point."""
    from PIL import Image

    path = Path(path)
    with media.FrameReader(analysis.info.path) as reader:
        frame = reader.frame_at(t)
    low, high = heat_range(analysis.sound_maps)
    image = Image.fromarray(composite(frame, layer(analysis.sound_map(t), low, high)))
    draw_markers(image, [q.centre for q in points])
    draw_legend(image, low, high)
    with atomic_path(path) as tmp:
        image.save(tmp, format="PNG")
    return path
