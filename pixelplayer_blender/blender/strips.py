"""The strips PixelPlayer reads and writes: the active movie, its own sound, the picks and the "Rest".

Strips PixelPlayer adds carry a ``pixelplayer`` custom property (saved in the .blend and undone with
the scene) naming their movie strip, their role and, for picks, the query that made them.
"""
from __future__ import annotations

import os

import bpy

from ..core.query import Query, from_stored
from . import compat
from .errors import UserError

KEY = "pixelplayer"
MAX_CHANNEL = 128
COLOR_TAGS = [f"COLOR_{i:02d}" for i in range(1, 10)]


def active_strip(context: bpy.types.Context):
    """The scene being edited and its active strip (``None`` when there is none)."""
    scene = compat.sequencer_scene(context)
    editor = scene.sequence_editor if scene else None
    return scene, editor.active_strip if editor else None


def active_movie(context: bpy.types.Context):
    """The scene being edited and its active strip, which must be a movie."""
    scene, strip = active_strip(context)
    if strip is None:
        raise UserError("Make a movie strip active first")
    if strip.type != "MOVIE":
        raise UserError(f"'{strip.name}' is a {strip.type.lower()} strip: PixelPlayer works on movie strips")
    return scene, strip


def movie_file(movie) -> str:
    """The movie file's absolute path, present or not."""
    return os.path.normpath(bpy.path.abspath(movie.filepath, library=movie.id_data.library))


def media_path(movie) -> str:
    """The movie file's absolute path; a clear error if it is gone."""
    path = movie_file(movie)
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


def query(strip) -> Query:
    """The query a pick was made with (older .blend files store it as a list)."""
    return from_stored(strip[KEY]["query"])


def stored(query: Query) -> dict:
    """``query`` as a custom property can hold it (no ``None`` values)."""
    return {key: value for key, value in query.to_dict().items() if value is not None}


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
