"""File writing that is all or nothing, with temporaries that a later run cleans up.

Every temporary lives in a hidden folder ``.pixelplayer-tmp-<host>-<pid>.<random>`` beside its
target, so a rename puts it in place.  A process killed outright (SIGKILL, power loss) cannot clean
up after itself: whoever next writes into the same folder removes the temporary folders of this
host's processes that are gone.
"""
from __future__ import annotations

import os
import re
import shutil
import secrets
import socket
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Sequence

from .errors import PixelPlayerError

TMP_PREFIX = ".pixelplayer-tmp-"
FULL_DISK_BYTES = 1 << 20  # a write that failed with less free space than this failed for want of space


def _host() -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", socket.gethostname()) or "host"


def alive(pid: int) -> bool:
    """Whether a process with this id exists (on this host, in this pid namespace)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def sweep(directory: Path) -> None:
    """Remove the temporary folders in ``directory`` left by processes of this host that are gone."""
    mine = f"{TMP_PREFIX}{_host()}-"
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return
    for entry in entries:
        pid = entry.name[len(mine):].partition(".")[0]
        if entry.name.startswith(mine) and pid.isdigit() and int(pid) != os.getpid() and not alive(int(pid)):
            shutil.rmtree(entry.path, ignore_errors=True)


def shown_folder(folder: Path) -> Path:
    """The folder a user knows ``folder`` by: the target folder rather than a temporary one inside it."""
    while folder.name.startswith(TMP_PREFIX):
        folder = folder.parent
    return folder


def write_failure(directory: Path, error: BaseException) -> PixelPlayerError:
    """One line for a failed write into ``directory``.

    libsndfile reports a full disk as a bare "System error", so a disk with (almost) no room left
    is named as the reason whatever the writer said.
    """
    directory = shown_folder(directory)
    reason = getattr(error, "strerror", None) or str(error) or type(error).__name__
    try:
        if shutil.disk_usage(directory).free < FULL_DISK_BYTES:
            reason = "No space left on device"
    except OSError:
        pass
    return PixelPlayerError(f"cannot write to {directory}: {reason}")


def _missing_parents(directory: Path) -> list[Path]:
    """``directory`` and its parents that do not exist yet, deepest first."""
    missing = []
    while not directory.exists() and directory != directory.parent:
        missing.append(directory)
        directory = directory.parent
    return missing


@contextmanager
def atomic_paths(paths: Sequence[Path]) -> Iterator[list[Path]]:
    """Temporary paths (same names, in one hidden folder beside the targets) for ``paths``, which share a folder.

    When the block succeeds they all replace their targets; when anything fails, including
    Ctrl-C, none does, and folders made for them are removed again.  The target folder is
    created here, only when there is something to write.  Write errors become one readable
    :class:`PixelPlayerError` naming the folder.
    """
    paths = [Path(p) for p in paths]
    directory = paths[0].parent
    if any(p.parent != directory for p in paths):
        raise ValueError("atomic_paths: every path must be in the same folder")
    created = _missing_parents(directory)
    folder = directory / f"{TMP_PREFIX}{_host()}-{os.getpid()}.{secrets.token_hex(4)}"  # named before it exists
    staged = [folder / p.name for p in paths]
    moving = False
    try:
        try:
            directory.mkdir(parents=True, exist_ok=True)
            sweep(directory)
            folder.mkdir(mode=0o700)
        except OSError as error:
            raise write_failure(directory, error) from None
        try:
            yield staged
            moving = True
            for tmp, path in zip(staged, paths):
                os.replace(tmp, path)
        except (OSError, RuntimeError) as error:
            raise write_failure(directory, error) from None
    except BaseException:
        if moving:  # a staged file that is gone was moved in (this holds even if Ctrl-C came right after a move)
            for tmp, path in zip(staged, paths):
                if not tmp.exists():
                    path.unlink(missing_ok=True)
        shutil.rmtree(folder, ignore_errors=True)
        for made in created:
            try:
                made.rmdir()
            except FileNotFoundError:
                continue
            except OSError:
                break
        raise
    shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """A temporary path for ``path``; it replaces ``path`` only if the block succeeds (see :func:`atomic_paths`)."""
    with atomic_paths([path]) as (tmp,):
        yield tmp
