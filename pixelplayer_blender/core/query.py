"""What a click asks for: a point or a rectangle of source pixels, at a time, optionally named.

Torch-free, so the Blender layer and the command line build, store and draw queries without
the engine's heavy dependencies.  ``to_dict``/``from_dict`` are the stored form (JSON, a strip's
custom property); :func:`from_stored` also reads the bare lists older .blend files hold.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from .errors import PixelPlayerError

Cells = tuple[slice, slice]


def _cell(value: float, size: int, cells: int) -> int:
    return int(value * cells / size)


@dataclass(frozen=True)
class Point:
    """A click at source pixel (x, y), origin top-left, at ``time`` seconds (default: the first frame).

    ``name`` is the instrument the user says it is (``None``: the picture decides).
    """

    x: float
    y: float
    time: float | None = None
    name: str | None = None

    @property
    def centre(self) -> tuple[float, float]:
        """Where a marker for the click is drawn."""
        return self.x, self.y

    def cells(self, width: int, height: int, grid: tuple[int, int]) -> Cells:
        """The feature-grid cells the click selects: its cell and the eight around it."""
        if not (0 <= self.x < width and 0 <= self.y < height):
            raise PixelPlayerError(f"point ({self.x:g}, {self.y:g}) is outside the {width}x{height} frame")
        row, col = _cell(self.y, height, grid[0]), _cell(self.x, width, grid[1])
        return slice(max(row - 1, 0), row + 2), slice(max(col - 1, 0), col + 2)

    def to_dict(self) -> dict:
        return _named({"point": [self.x, self.y], "time": self.time}, self.name)


@dataclass(frozen=True)
class Region:
    """A rectangle ``[x0, x1) x [y0, y1)`` in source pixels, at ``time`` seconds, optionally named."""

    x0: float
    y0: float
    x1: float
    y1: float
    time: float | None = None
    name: str | None = None

    def cells(self, width: int, height: int, grid: tuple[int, int]) -> Cells:
        """The feature-grid cells the rectangle covers (at least one)."""
        if not (0 <= self.x0 < self.x1 <= width and 0 <= self.y0 < self.y1 <= height):
            raise PixelPlayerError(f"region ({self.x0:g}, {self.y0:g}, {self.x1:g}, {self.y1:g}) is empty or "
                                   f"outside the {width}x{height} frame")
        top, left = _cell(self.y0, height, grid[0]), _cell(self.x0, width, grid[1])
        rows = slice(top, max(math.ceil(self.y1 * grid[0] / height), top + 1))
        cols = slice(left, max(math.ceil(self.x1 * grid[1] / width), left + 1))
        return rows, cols

    @property
    def centre(self) -> tuple[float, float]:
        """The middle of the rectangle, where a marker for it is drawn."""
        return (self.x0 + self.x1) / 2, (self.y0 + self.y1) / 2

    def to_dict(self) -> dict:
        return _named({"region": [self.x0, self.y0, self.x1, self.y1], "time": self.time}, self.name)


Query = Point | Region


def _named(doc: dict, name: str | None) -> dict:
    return doc if name is None else {**doc, "name": name}


def from_dict(doc: dict) -> Query:
    """The query ``to_dict`` wrote."""
    extra = {"time": doc.get("time"), "name": doc.get("name")}
    if "point" in doc:
        return Point(*map(float, doc["point"]), **extra)
    if "region" in doc:
        return Region(*map(float, doc["region"]), **extra)
    raise PixelPlayerError(f"not a query: {doc!r}")


def from_stored(value) -> Query:
    """A query as stored: a ``to_dict`` mapping, or an older list ``[x, y, t]`` / ``[x0, y0, x1, y1, t]``."""
    if hasattr(value, "keys"):
        return from_dict(dict(value))
    values = [float(v) for v in value]
    if len(values) == 3:
        return Point(values[0], values[1], values[2])
    if len(values) == 5:
        return Region(*values[:4], time=values[4])
    raise PixelPlayerError(f"not a stored query: {values!r}")
