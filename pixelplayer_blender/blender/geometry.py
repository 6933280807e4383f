"""Read :mod:`.viewmap`'s inputs from Blender: the output frame, a strip's placement and timing."""
from __future__ import annotations

import bpy

from .pure.viewmap import Crop, Frame, Placement, Timing


def frame(scene: bpy.types.Scene) -> Frame:
    r = scene.render
    return Frame(r.resolution_x, r.resolution_y, r.pixel_aspect_x / r.pixel_aspect_y)


def placement(strip, width: int, height: int) -> Placement:
    """Where ``strip``'s ``width`` x ``height`` image sits in the frame.

    Sizes are the displayed ones (:class:`..core.media.VideoInfo`): Blender's movie strips (4.5, 5.0)
    turn phone footage by its display matrix, as the core does, so source pixels agree.
    """
    t, c = strip.transform, strip.crop
    return Placement(
        width, height, offset_x=t.offset_x, offset_y=t.offset_y, scale_x=t.scale_x, scale_y=t.scale_y,
        rotation=t.rotation, origin_x=t.origin[0], origin_y=t.origin[1],
        flip_x=strip.use_flip_x, flip_y=strip.use_flip_y,
        crop=Crop(left=c.min_x, right=c.max_x, top=c.max_y, bottom=c.min_y),
    )


def timing(strip, duration: float) -> Timing:
    """``strip``'s place on the timeline; ``duration`` is its media's length in seconds."""
    return Timing(strip.frame_start, strip.frame_final_start, strip.frame_final_end, strip.frame_duration,
                  duration, reverse=strip.use_reverse_frames)
