"""The overlay in the sequencer preview: a ``gpu`` draw handler showing :func:`.pure.overlay_layer.layer`.

``WindowManager.pixelplayer_overlay`` (the panel's toggle) adds and removes the handler.  The
handler draws the sound map as a texture over the active movie strip's visible image, and a disc
per pick, both placed with :mod:`.pure.viewmap` so they follow the strip's transform, flips and crop.
"""
from __future__ import annotations

import math

import bpy

from ..core.query import Query
from . import compat, geometry, strips
from .errors import UserError
from .pure import overlay_layer, session
from .pure.viewmap import source_to_view

MARKER_RADIUS = 0.025  # of the frame height
_handle = None
_texture: tuple = (None, None, None)  # (analysis, analysed frame, GPUTexture) last uploaded


def picks(editor, movie) -> list[tuple[Query, tuple[float, float, float], str]]:
    """The movie's picks as :func:`.pure.overlay_layer.layer` wants them, coloured like their strips' colour tags."""
    tags = bpy.context.preferences.themes[0].strip_color
    colour = lambda tag: tuple(tags[int(tag[-2:]) - 1].color) if tag.startswith("COLOR_") else (1.0, 1.0, 1.0)
    return [(strips.query(s), colour(s.color_tag), s.name) for s in strips.made_for(editor, movie, "pick")]


def current(scene):
    """(movie strip, analysis, source time, :class:`.pure.overlay_layer.Layer`) for ``scene``'s active analysed movie."""
    editor = scene.sequence_editor if scene else None
    movie = editor.active_strip if editor else None
    if movie is None or movie.type != "MOVIE":
        return None
    try:
        analysis = session.current.analyses.get(strips.media_path(movie))
    except UserError:
        return None
    time = geometry.timing(movie, analysis.info.duration).source_time(scene.frame_current) if analysis else None
    if time is None:
        return None
    return movie, analysis, time, overlay_layer.layer(analysis, time, picks(editor, movie))


def _upload(analysis, time: float, rgba):
    """The layer's image as a texture (bottom row first, as the GPU wants), reused for the same analysed frame."""
    import gpu
    import numpy as np

    global _texture
    frame = analysis.nearest_frame(time)
    if _texture[0] is not analysis or _texture[1] != frame:
        h, w = rgba.shape[:2]
        data = np.ascontiguousarray(rgba[::-1], np.float32).ravel()
        texture = gpu.types.GPUTexture((w, h), format="RGBA32F", data=gpu.types.Buffer("FLOAT", data.size, data))
        _texture = (analysis, frame, texture)
    return _texture[2]


def _disc(shader, centre, radius: float, colour) -> None:
    from gpu_extras.batch import batch_for_shader

    ring = [(centre[0] + radius * math.cos(a), centre[1] + radius * math.sin(a))
            for a in (2 * math.pi * i / 24 for i in range(24))]
    shader.uniform_float("color", (*colour, 1.0))
    batch_for_shader(shader, "TRI_FAN", {"pos": [centre, *ring, ring[0]]}).draw(shader)


def draw() -> None:
    """The ``POST_VIEW`` callback: coordinates are the preview's view space (see :mod:`.viewmap`)."""
    import gpu
    from gpu_extras.batch import batch_for_shader

    scene = compat.sequencer_scene(bpy.context)
    found = current(scene)
    if found is None:
        return
    movie, analysis, time, layer = found
    video = analysis.info.video
    frame = geometry.frame(scene)
    placement = geometry.placement(movie, video.width, video.height)
    c = placement.crop
    corners = [(c.left, c.top), (video.width - c.right, c.top),
               (video.width - c.right, video.height - c.bottom), (c.left, video.height - c.bottom)]
    image = gpu.shader.from_builtin("IMAGE")
    batch = batch_for_shader(image, "TRI_FAN", {
        "pos": [source_to_view(x, y, frame, placement) for x, y in corners],
        "texCoord": [(x / video.width, 1 - y / video.height) for x, y in corners]})
    gpu.state.blend_set("ALPHA")
    image.bind()
    image.uniform_sampler("image", _upload(analysis, time, layer.rgba))
    batch.draw(image)
    flat = gpu.shader.from_builtin("UNIFORM_COLOR")
    flat.bind()
    radius = MARKER_RADIUS * frame.height
    for marker in layer.markers:
        if placement.shows(marker.x, video.height - marker.y):
            centre = source_to_view(marker.x, marker.y, frame, placement)
            _disc(flat, centre, radius, (0.0, 0.0, 0.0))
            _disc(flat, centre, 0.7 * radius, marker.colour)
    gpu.state.blend_set("NONE")


def enabled() -> bool:
    return _handle is not None


def _remove() -> None:
    global _handle, _texture
    if _handle is not None:
        bpy.types.SpaceSequenceEditor.draw_handler_remove(_handle, "PREVIEW")
        _handle, _texture = None, (None, None, None)


def sync() -> None:
    """Add or remove the draw handler to match the window manager's toggle, and redraw the previews."""
    global _handle
    wm = bpy.context.window_manager
    if wm is not None and wm.pixelplayer_overlay:
        if _handle is None:
            _handle = bpy.types.SpaceSequenceEditor.draw_handler_add(draw, (), "PREVIEW", "POST_VIEW")
    else:
        _remove()
    for window in bpy.context.window_manager.windows if bpy.context.window_manager else ():
        for area in window.screen.areas:
            if area.type == "SEQUENCE_EDITOR":
                area.tag_redraw()


@bpy.app.handlers.persistent
def _after_load(*_args) -> None:
    sync()


def register() -> None:
    bpy.types.WindowManager.pixelplayer_overlay = bpy.props.BoolProperty(
        name="Sound Map Overlay", description="Show where the sound comes from, and the picks, over the preview",
        update=lambda self, context: sync())
    bpy.app.handlers.load_post.append(_after_load)


def unregister() -> None:
    if _after_load in bpy.app.handlers.load_post:
        bpy.app.handlers.load_post.remove(_after_load)
    _remove()
    del bpy.types.WindowManager.pixelplayer_overlay
