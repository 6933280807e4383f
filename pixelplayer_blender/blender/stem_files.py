"""Where isolated audio goes: the stem folder, atomic writes, relative paths, the move on first save."""
from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from pathlib import Path

import bpy

from . import prefs
from .errors import UserError


class StemFolderError(UserError):
    """The stem folder cannot be used; the message says why."""


def unsaved_folder() -> Path:
    """Where an unsaved .blend's stems wait until it is saved."""
    return Path(tempfile.gettempdir()) / f"pixelplayer-unsaved-{os.getpid()}"


def folder(context: bpy.types.Context) -> Path:
    """The stem folder for the open .blend, created if needed."""
    setting = prefs.get(context).stem_folder or "//pixelplayer/"
    path = unsaved_folder() if setting.startswith("//") and not bpy.data.filepath else Path(bpy.path.abspath(setting))
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise StemFolderError(f"Cannot create the stem folder {path}: {error.strerror}") from None
    if not os.access(path, os.W_OK):
        raise StemFolderError(f"The stem folder {path} is not writable: choose another in the preferences")
    return path


def file_name(movie_path: str, label: str, queries: list, index: int) -> str:
    """A name unique to the movie and the full set of picks, so earlier files stay valid for undo."""
    digest = hashlib.sha1(repr((movie_path, queries)).encode()).hexdigest()[:10]
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in label)
    return f"{Path(movie_path).stem}.{index:02d}-{safe}.{digest}.wav"


def write_all(directory: Path, named_audio: list[tuple[str, object]], sample_rate: int, movie_path: str) -> list[str]:
    """Write each ``(name, audio)`` as ``directory/name``, all or none (a failure leaves no file behind);
    returns the paths Blender should store."""
    from ..core import media
    from ..core.files import atomic_paths

    paths = [directory / name for name, _ in named_audio]
    if any(path.resolve() == Path(movie_path).resolve() for path in paths):
        raise StemFolderError(f"Refusing to overwrite the source media {movie_path}")
    with atomic_paths(paths) as staged:
        for tmp, (_, audio) in zip(staged, named_audio):
            media.write_audio(tmp, audio, sample_rate)
    return [blender_path(path) for path in paths]


def write(directory: Path, name: str, audio, sample_rate: int, movie_path: str) -> str:
    """Write ``audio`` atomically as ``directory/name``; returns the path Blender should store."""
    return write_all(directory, [(name, audio)], sample_rate, movie_path)[0]


def blender_path(path: Path) -> str:
    """``path`` relative to the .blend when it is saved (so a project folder can move)."""
    return bpy.path.relpath(str(path)) if bpy.data.filepath else str(path)


@bpy.app.handlers.persistent
def move_unsaved_stems(filepath: str, *_args) -> None:
    """Before an unsaved .blend's first save, move its waiting stems to the stem folder and relink them."""
    waiting = unsaved_folder()
    sounds = [s for s in bpy.data.sounds if Path(bpy.path.abspath(s.filepath)).parent == waiting]
    if not sounds:
        return
    setting = prefs.get().stem_folder or "//pixelplayer/"
    blend_dir = Path(filepath).parent
    target = blend_dir / setting[2:] if setting.startswith("//") else Path(bpy.path.abspath(setting))
    target.mkdir(parents=True, exist_ok=True)
    for sound in sounds:
        source = Path(bpy.path.abspath(sound.filepath))
        if source.is_file():
            shutil.move(source, target / source.name)
        sound.filepath = bpy.path.relpath(str(target / source.name), start=str(blend_dir))


def register() -> None:
    bpy.app.handlers.save_pre.append(move_unsaved_stems)


def unregister() -> None:
    if move_unsaved_stems in bpy.app.handlers.save_pre:
        bpy.app.handlers.save_pre.remove(move_unsaved_stems)
