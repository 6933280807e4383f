"""The strips PixelPlayer reads and writes: the active movie, its own sound, the picks and the "Rest".

Strips PixelPlayer adds carry a ``pixelplayer`` custom property (saved in the .blend and undone with
the scene) naming their movie strip, their role and, for picks, the query that made them.
"""
from __future__ import annotations

import os

import bpy

from . import compat

KEY = "pixelplayer"
MAX_CHANNEL = 128
COLOR_TAGS = [f"COLOR_{i:02d}" for i in range(1, 10)]


class UserError(RuntimeError):
    """Bad input, explained in one line for ``Operator.report``."""


def active_movie(context: bpy.types.Context):
    """The scene being edited and its active strip, which must be a movie with its file present."""
    scene = compat.sequencer_scene(context)
    editor = scene.sequence_editor if scene else None
    strip = editor.active_strip if editor else None
    if strip is None:
        raise UserError("Make a movie strip active first")
    if strip.type != "MOVIE":
        raise UserError(f"'{strip.name}' is a {strip.type.lower()} strip: PixelPlayer works on movie strips")
    return scene, strip


def media_path(movie) -> str:
    """The movie file's absolute path; a clear error if it is gone."""
    path = os.path.normpath(bpy.path.abspath(movie.filepath, library=movie.id_data.library))
    if not os.path.isfile(path):
        raise UserError(f"The media file of '{movie.name}' is missing: {path}")
    return path


def own_sound(editor, movie):
    """The sound strip that came with the movie (same file, same start), if any."""
    path = media_path(movie)
    for strip in compat.all_strips(editor):
        if (strip.type == "SOUND" and strip.sound and strip.frame_start == movie.frame_start
                and os.path.normpath(bpy.path.abspath(strip.sound.filepath)) == path):
            return strip
    return None


def made_for(editor, movie, role: str) -> list:
    """PixelPlayer's strips of ``role`` ("pick" or "rest") for ``movie``, picks in pick order."""
    found = [s for s in compat.all_strips(editor)
             if KEY in s and s[KEY].get("movie") == movie.name and s[KEY].get("role") == role]
    return sorted(found, key=lambda s: s[KEY].get("index", 0))


def query(strip) -> list[float]:
    """The stored query of a pick: ``[x, y, t]`` for a point, ``[x0, y0, x1, y1, t]`` for a region."""
    return list(strip[KEY]["query"])


def free_channel(editor, start: float, end: float, above: int) -> int:
    """The lowest channel above ``above`` with nothing in ``[start, end)``."""
    busy = {s.channel for s in compat.top_strips(editor)
            if s.frame_final_start < end and start < s.frame_final_end}
    for channel in range(above + 1, MAX_CHANNEL + 1):
        if channel not in busy:
            return channel
    raise UserError("No free channel left for a new sound strip")


def add_sound(editor, movie, name: str, filepath: str, role: str, **tags):
    """Add a sound strip for ``filepath`` aligned with ``movie`` (and with its own sound, when present)."""
    own = own_sound(editor, movie)
    timing = own or movie
    span_end = max(movie.frame_start + movie.frame_duration, timing.frame_start + timing.frame_duration) + 1
    channel = free_channel(editor, min(movie.frame_start, timing.frame_start), span_end, movie.channel)
    strip = compat.top_strips(editor).new_sound(name, filepath, channel, int(timing.frame_start))
    strip.frame_start = timing.frame_start
    if own is not None:
        strip.frame_offset_start = own.frame_offset_start
        strip.frame_offset_end = own.frame_offset_end
        if hasattr(own, "sound_offset"):
            strip.sound_offset = own.sound_offset
    else:
        strip.frame_final_start = movie.frame_final_start
        strip.frame_final_end = min(movie.frame_final_end, strip.frame_start + strip.frame_duration)
    strip[KEY] = {"movie": movie.name, "role": role, **tags}
    return strip


def set_sound(strip, filepath: str) -> None:
    """Point ``strip`` at new audio of the same length, keeping its timing, volume and animation."""
    start, offset_start, offset_end = strip.frame_start, strip.frame_offset_start, strip.frame_offset_end
    strip.sound = bpy.data.sounds.load(filepath, check_existing=True)
    strip.frame_start, strip.frame_offset_start, strip.frame_offset_end = start, offset_start, offset_end


def named(editor, name: str):
    """The strip called ``name``; a clear error if it is gone."""
    strip = compat.all_strips(editor).get(name)
    if strip is None:
        raise UserError(f"There is no strip called '{name}'")
    return strip


def movie_of(editor, strip):
    """The movie strip a PixelPlayer strip was made for."""
    if KEY not in strip:
        raise UserError(f"'{strip.name}' was not made by PixelPlayer")
    return named(editor, strip[KEY]["movie"])


def remove(editor, strip) -> None:
    compat.top_strips(editor).remove(strip)
