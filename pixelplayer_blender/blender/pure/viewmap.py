"""Map a click in the sequencer preview to the movie's own pixel and time, and back.

Pure geometry, no ``bpy``: the operators read the values from Blender, this module does the math.
It follows the sequencer's renderer (verified against real renders in tests/blender):

- *view* space is the preview region's View2D (what ``view2d.region_to_view`` returns and what a
  ``POST_VIEW`` draw handler draws in): scene-resolution pixels centred on the frame, x stretched
  by the pixel aspect;
- *frame* space is the rendered output, pixels from its bottom-left corner;
- the strip's transform places its image in the frame: the image is scaled and rotated about
  ``origin`` (a fraction of the image size), centred in the frame, then moved by ``offset``;
  flips mirror the transformed result about the frame's centre, and crop hides image margins;
- *source* space is the movie's pixels from its top-left corner, as the core expects.
"""
from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Frame:
    """The scene's output frame: ``render.resolution_x/y`` and ``pixel_aspect_x / pixel_aspect_y``."""

    width: int
    height: int
    pixel_aspect: float = 1.0


@dataclass(frozen=True)
class Crop:
    """Pixels hidden at each edge of the source image (a strip's ``crop``)."""

    left: float = 0.0
    right: float = 0.0
    top: float = 0.0
    bottom: float = 0.0


@dataclass(frozen=True)
class Placement:
    """How a strip's source image of ``width`` x ``height`` pixels sits in the frame."""

    width: int
    height: int
    offset_x: float = 0.0
    offset_y: float = 0.0
    scale_x: float = 1.0
    scale_y: float = 1.0
    rotation: float = 0.0  # radians, counter-clockwise
    origin_x: float = 0.5
    origin_y: float = 0.5
    flip_x: bool = False
    flip_y: bool = False
    crop: Crop = Crop()

    def image_to_frame(self, x: float, y: float, frame: Frame) -> tuple[float, float]:
        """Image pixel (origin bottom-left) -> frame pixel (origin bottom-left)."""
        px, py = self.width * self.origin_x, self.height * self.origin_y
        sx, sy = (x - px) * self.scale_x, (y - py) * self.scale_y
        cos, sin = math.cos(self.rotation), math.sin(self.rotation)
        fx = px + sx * cos - sy * sin + self.offset_x + (frame.width - self.width) / 2
        fy = py + sx * sin + sy * cos + self.offset_y + (frame.height - self.height) / 2
        return self._flip(fx, fy, frame)

    def frame_to_image(self, x: float, y: float, frame: Frame) -> tuple[float, float]:
        """Frame pixel -> image pixel; the exact inverse of :meth:`image_to_frame`."""
        if self.scale_x == 0 or self.scale_y == 0:
            raise ValueError("a strip scaled to zero shows no image")
        fx, fy = self._flip(x, y, frame)
        px, py = self.width * self.origin_x, self.height * self.origin_y
        dx = fx - px - self.offset_x - (frame.width - self.width) / 2
        dy = fy - py - self.offset_y - (frame.height - self.height) / 2
        cos, sin = math.cos(self.rotation), math.sin(self.rotation)
        sx, sy = dx * cos + dy * sin, -dx * sin + dy * cos
        return px + sx / self.scale_x, py + sy / self.scale_y

    def shows(self, x: float, y: float) -> bool:
        """Whether image pixel (origin bottom-left) is inside the image and not cropped away."""
        c = self.crop
        return c.left <= x < self.width - c.right and c.bottom <= y < self.height - c.top

    def _flip(self, x: float, y: float, frame: Frame) -> tuple[float, float]:
        return (frame.width - x if self.flip_x else x, frame.height - y if self.flip_y else y)


def view_to_frame(vx: float, vy: float, frame: Frame) -> tuple[float, float]:
    """Preview view coordinates -> frame pixel."""
    return vx / frame.pixel_aspect + frame.width / 2, vy + frame.height / 2


def frame_to_view(x: float, y: float, frame: Frame) -> tuple[float, float]:
    """Frame pixel -> preview view coordinates."""
    return (x - frame.width / 2) * frame.pixel_aspect, y - frame.height / 2


def view_to_source(vx: float, vy: float, frame: Frame, placement: Placement) -> tuple[float, float] | None:
    """Preview view coordinates -> source pixel (origin top-left), or None off the visible image."""
    ix, iy = placement.frame_to_image(*view_to_frame(vx, vy, frame), frame)
    if not placement.shows(ix, iy):
        return None
    return ix, placement.height - iy


def source_to_view(x: float, y: float, frame: Frame, placement: Placement) -> tuple[float, float]:
    """Source pixel (origin top-left) -> preview view coordinates, e.g. to draw a marker."""
    return frame_to_view(*placement.image_to_frame(x, placement.height - y, frame), frame)


@dataclass(frozen=True)
class Timing:
    """A movie strip on the timeline.

    ``frame_start`` is where the content's first frame sits, ``final_start``/``final_end`` the
    visible (trimmed) range, ``content_frames`` the untrimmed length in timeline frames
    (``frame_duration``) and ``duration`` the media's length in seconds.
    """

    frame_start: float
    final_start: float
    final_end: float
    content_frames: float
    duration: float
    reverse: bool = False

    def source_time(self, frame: float) -> float | None:
        """Seconds into the media shown at timeline ``frame``, or None where the strip is not visible."""
        if not self.final_start <= frame < self.final_end or self.content_frames <= 0:
            return None
        index = frame - self.frame_start
        if self.reverse:
            index = self.content_frames - 1 - index
        index = min(max(index, 0.0), self.content_frames - 1)
        return index * self.duration / self.content_frames

