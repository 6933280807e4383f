"""What the preview overlay shows: the sound map as an RGBA image and a marker per picked instrument.

Pure (numpy and the core, no ``bpy``): :mod:`..preview_overlay` uploads :func:`layer`'s image as a GPU
texture and draws it over the strip; scripts/make_readme_images.py composites the same image
over a rendered frame.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...core.query import Query

@dataclass(frozen=True)
class Marker:
    """A picked instrument at source pixel (``x``, ``y``), origin top-left."""

    x: float
    y: float
    colour: tuple[float, float, float]  # RGB in [0, 1]
    label: str


@dataclass(frozen=True)
class Layer:
    rgba: np.ndarray  # (h, w, 4) float32 in [0, 1]; row 0 is the image's top; stretched over the whole image
    markers: tuple[Marker, ...]


def heat_range(analysis) -> tuple[float, float]:
    """The clip's quietest and loudest sound-map values, so every frame uses the same scale."""
    from ...core import soundmap

    return soundmap.heat_range(analysis.sound_maps)


def layer(analysis, time: float, picks: list[tuple[Query, tuple[float, float, float], str]],
          scale: tuple[float, float] | None = None) -> Layer:
    """The overlay at source ``time`` for ``picks`` (query, RGB colour, name).

    ``scale`` is the clip-wide ``(low, high)`` heat range (default :func:`heat_range`), stretched to [0, 1].
    """
    from ...core import soundmap

    low, high = scale or heat_range(analysis)
    rgba = soundmap.layer(analysis.sound_map(time), low, high)
    return Layer(rgba, tuple(Marker(*query.centre, tuple(colour), name) for query, colour, name in picks))
