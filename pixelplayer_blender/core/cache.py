"""The analysis cache on disk: entries that check themselves and are replaced whatever state they are in.

An entry is a folder ``<key>/`` of ``.npy`` arrays and ``meta.json``.  It is written as
``<key>.tmp<pid>``, sealed with ``manifest.json`` (written last, atomically) and renamed into
place.  The manifest records every file's size, each array's shape, dtype and data offset, and a
CRC-32 of each :data:`BLOCK` of every file.

Checking an entry (:func:`problem`) always compares sizes, shapes and dtypes, which catches
truncated, emptied, grown or replaced files and unfinished writes.  Checksums are compared for
every block of a file of up to :data:`CHECKED_BLOCKS` blocks (128 MiB: the whole entry of clips up
to about three minutes); of a larger file (the components of a long clip run to GBs) a fresh random
sample of that many blocks is checked, always with its first and last, so a load costs at most
about 0.1 s per large file, and damage the sample missed is found with growing probability at
each later load.  CRC-32 rather than a cryptographic hash: the cache is no security boundary
(whoever can write it can write a manifest), and for accidental damage CRC-32 is as good and
about six times faster than BLAKE2b here (1.5 against 0.22 GB/s on the project's machine).
"""
from __future__ import annotations

import json
import os
import random
import re
import shutil
import time
import zlib
from pathlib import Path

import numpy as np

from .files import alive

MANIFEST = "manifest.json"
BLOCK = 4 << 20
CHECKED_BLOCKS = 32
STALE_SECONDS = 3600.0  # a temporary entry of a process that is gone is removed once this old
_TEMPORARY = re.compile(r"^[0-9a-f]+\.(tmp|old)(\d+)$")


def _npy_header(path: Path) -> tuple[list[int], str, int]:
    """(shape, dtype, data offset) of an ``.npy`` file; ValueError when it is not one."""
    with open(path, "rb") as f:
        version = np.lib.format.read_magic(f)
        shape, fortran, dtype = (np.lib.format.read_array_header_1_0(f) if version == (1, 0)
                                 else np.lib.format.read_array_header_2_0(f))
        if fortran:
            raise ValueError("Fortran-ordered array")
        return list(shape), dtype.str, f.tell()


def _crcs(path: Path, blocks: list[int] | None = None) -> dict[int, int]:
    """CRC-32 of the given :data:`BLOCK`-sized blocks of ``path`` (all when ``blocks`` is None)."""
    out = {}
    with open(path, "rb") as f:
        if blocks is None:
            index = 0
            while chunk := f.read(BLOCK):
                out[index] = zlib.crc32(chunk)
                index += 1
            return out
        for index in blocks:
            f.seek(index * BLOCK)
            out[index] = zlib.crc32(f.read(BLOCK))
    return out


def seal(folder: Path) -> None:
    """Write the manifest of every file in ``folder``, last and atomically: the entry is then complete."""
    files = {}
    for path in sorted(folder.iterdir()):
        if path.name == MANIFEST:
            continue
        record: dict = {"size": path.stat().st_size, "crc32": list(_crcs(path).values())}
        if path.suffix == ".npy":
            record["shape"], record["dtype"], record["offset"] = _npy_header(path)
        files[path.name] = record
    part = folder / f"{MANIFEST}.part"
    part.write_text(json.dumps({"block": BLOCK, "files": files}))
    os.replace(part, folder / MANIFEST)


def problem(folder: Path) -> str | None:
    """What is wrong with the entry ``folder``, or None when it passes the check (see the module's docstring)."""
    try:
        manifest = json.loads((folder / MANIFEST).read_text())
        if manifest.get("block") != BLOCK or not isinstance(manifest.get("files"), dict):
            return "its manifest is of another format"
        for name, record in manifest["files"].items():
            path = folder / name
            size = path.stat().st_size
            if size != record["size"]:
                return f"{name} holds {size} bytes instead of {record['size']}"
            if "shape" in record:
                shape, dtype, offset = _npy_header(path)
                if (shape, dtype, offset) != (record["shape"], record["dtype"], record["offset"]):
                    return f"{name} is a {dtype} array of shape {shape} instead of {record['dtype']} {record['shape']}"
                if offset + int(np.prod(shape)) * np.dtype(dtype).itemsize != size:
                    return f"{name} does not hold its {shape} array"
            expected = record["crc32"]
            if len(expected) != -(-size // BLOCK):
                return f"{name}: the manifest's checksums do not match its size"
            blocks = None
            if len(expected) > CHECKED_BLOCKS:
                inner = random.SystemRandom().sample(range(1, len(expected) - 1), CHECKED_BLOCKS - 2)
                blocks = [0, *sorted(inner), len(expected) - 1]
            for index, crc in _crcs(path, blocks).items():
                if crc != expected[index]:
                    return f"{name} is damaged (checksum of block {index})"
    except FileNotFoundError as e:
        return f"{Path(e.filename).name} is missing"
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as e:
        return f"unreadable ({type(e).__name__}: {e})"
    return None


def discard(entry: Path) -> None:
    """Remove ``entry`` (a folder in any state, or a stray file), first renaming it out of the way atomically."""
    aside = entry.with_name(f"{entry.name}.old{os.getpid()}")
    try:
        entry.rename(aside)
    except FileNotFoundError:
        return
    except OSError:
        aside = entry
    if aside.is_dir() and not aside.is_symlink():
        shutil.rmtree(aside, ignore_errors=True)
    else:
        aside.unlink(missing_ok=True)


def commit(tmp: Path, final: Path, attempts: int = 3) -> None:
    """Rename the sealed entry ``tmp`` to ``final``; an entry already there is kept if it passes the
    check (another process made the same one) and replaced if it does not."""
    for _ in range(attempts):
        try:
            tmp.rename(final)
            return
        except OSError:
            if final.is_dir() and problem(final) is None:
                shutil.rmtree(tmp, ignore_errors=True)
                return
            discard(final)
    tmp.rename(final)


def sweep(cache_dir: Path, now: float | None = None) -> None:
    """Remove temporary entries (``<key>.tmp<pid>``, ``<key>.old<pid>``) older than
    :data:`STALE_SECONDS` whose process is gone."""
    now = time.time() if now is None else now
    try:
        entries = list(os.scandir(cache_dir))
    except OSError:
        return
    for entry in entries:
        match = _TEMPORARY.match(entry.name)
        if match is None or int(match[2]) == os.getpid() or alive(int(match[2])):
            continue
        try:
            old = now - entry.stat(follow_symlinks=False).st_mtime > STALE_SECONDS
        except OSError:
            continue
        if old:
            shutil.rmtree(entry.path, ignore_errors=True)
