"""The solo cache training reads, and a compact pack of it that travels to another machine.

A cache folder holds rendered solos as memory-mappable arrays: ``audio.npy`` (n, samples) float16,
``frames{size}.npy`` (n, V, size, size, 3) uint8 at each cached size, ``boxes.npy`` (n, V, 4) as
fractions of the frame, ``labels.npy``, ``silent.npy`` and ``meta.json``.  A pack holds the same
solos as Ogg Vorbis and JPEG blobs (about 20 KB a solo instead of 275 KB), so thousands of them fit
in a few tens of megabytes; ``unpack`` turns it back into a cache folder.
"""
from __future__ import annotations

import io
import json
import logging
import multiprocessing
import shutil
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import numpy as np
import soundfile as sf
from PIL import Image

from .instruments import NAMES
from .solo import Solo, SoloGenerator

log = logging.getLogger("train")


class SoloCache:
    """A cache folder's arrays, memory-mapped (see the module's docstring)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.meta = json.loads((folder / "meta.json").read_text())
        self.audio = np.load(folder / "audio.npy", mmap_mode="r")
        self.frames = {s: np.load(folder / f"frames{s}.npy", mmap_mode="r") for s in self.meta["sizes"]}
        self.boxes = np.load(folder / "boxes.npy")
        self.labels = np.load(folder / "labels.npy")
        self.silent = np.load(folder / "silent.npy")

    def __len__(self) -> int:
        return len(self.labels)

    @classmethod
    def ensure(cls, folder: Path, count: int, sizes: list[int], seed: int = 0, index: Path | None = None,
               instruments: list[str] | None = None, workers: int = 1, pack: Path | None = None,
               real: Path | None = None) -> "SoloCache":
        """The cache in ``folder``; unpacked from ``pack`` or rendered first if missing or lacking a
        frame size (a pack's solo count is what it holds), beside it, replacing it only once complete.
        Solos are synthetic, cut from the real footage of ``index``, or, with ``real`` (the folder the
        manifest's sources are extracted to), photo solos with real sound (``realsolo``)."""
        meta = folder / "meta.json"
        if meta.exists():
            found = json.loads(meta.read_text())
            if set(sizes) <= set(found["sizes"]) and (pack is not None or found["count"] >= count):
                return cls(folder)
            sizes = sorted(set(sizes) | set(found["sizes"]))
            count = max(count, found["count"])
        with _rebuilding(folder) as fresh:
            if pack is not None:
                unpack(pack, fresh, sorted(set(sizes)), workers)
            else:
                _render(fresh, count, sorted(set(sizes)), seed, index, instruments, workers, real)
        return cls(folder)


@contextmanager
def _rebuilding(folder: Path) -> Iterator[Path]:
    """A new folder beside ``folder`` to build a cache in; it replaces ``folder`` only if the block
    succeeds, so a failed or interrupted build leaves an existing cache as it was."""
    fresh = folder.with_name(folder.name + ".part")
    shutil.rmtree(fresh, ignore_errors=True)  # left by a build that was killed outright
    fresh.mkdir(parents=True)
    try:
        yield fresh
    except BaseException:
        shutil.rmtree(fresh, ignore_errors=True)
        raise
    old = folder.with_name(folder.name + ".old")
    if folder.exists():
        folder.rename(old)
    fresh.rename(folder)
    shutil.rmtree(old, ignore_errors=True)


def _allocate(folder: Path, count: int, samples: int, views: int, sizes: list[int]) -> dict[str, np.ndarray]:
    new = np.lib.format.open_memmap
    arrays = {"audio": new(folder / "audio.npy", "w+", np.float16, (count, samples))}
    for s in sizes:
        arrays[f"frames{s}"] = new(folder / f"frames{s}.npy", "w+", np.uint8, (count, views, s, s, 3))
    return arrays


def _store_frames(arrays: dict[str, np.ndarray], i: int, frames: np.ndarray, sizes: list[int]) -> None:
    """Solo ``i``'s (V, S, S, 3) frames at every cached size (resized with Lanczos where S differs)."""
    for s in sizes:
        arrays[f"frames{s}"][i] = frames if s == frames.shape[1] else np.stack(
            [np.asarray(Image.fromarray(f).resize((s, s), Image.LANCZOS)) for f in frames])


def _finish(folder: Path, arrays: dict[str, np.ndarray], boxes: np.ndarray, labels: np.ndarray,
            silent: np.ndarray, meta: dict) -> None:
    np.save(folder / "boxes.npy", boxes)
    np.save(folder / "labels.npy", labels)
    np.save(folder / "silent.npy", silent)
    for a in arrays.values():
        a.flush()
    (folder / "meta.json").write_text(json.dumps(meta))


# ------------------------------------------------------------------------------------------------ rendering

_SOURCE = None


def _init_renderer(size: int, index: str | None, instruments: list[str] | None, real: str | None = None) -> None:
    global _SOURCE
    if real:
        from .realsolo import RealSoloGenerator

        _SOURCE = RealSoloGenerator(Path(real), image_size=size)
    elif index:
        from .realdata import IndexSolos  # PyAV, only for real footage

        _SOURCE = IndexSolos(index, image_size=size)
    else:
        _SOURCE = SoloGenerator(image_size=size, instruments=instruments)


def _render_one(job: tuple[int, int]) -> Solo:
    seed, i = job
    if hasattr(_SOURCE, "render"):  # SoloGenerator, RealSoloGenerator
        return _SOURCE.render(seed + i)
    return _SOURCE.draw(np.random.default_rng([seed, i]))


def _render(folder: Path, count: int, sizes: list[int], seed: int, index: Path | None,
            instruments: list[str] | None, workers: int, real: Path | None = None) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    render = max(sizes)
    log.info("rendering %d solos at %d px into %s (%d workers)", count, render, folder, workers)
    arrays: dict[str, np.ndarray] = {}
    start = time.perf_counter()
    init = (render, str(index) if index else None, instruments, str(real) if real else None)
    with multiprocessing.get_context("spawn").Pool(workers, _init_renderer, init) as pool:
        for i, solo in enumerate(pool.imap(_render_one, [(seed, i) for i in range(count)], chunksize=8)):
            if not arrays:
                views = len(solo.frames)
                arrays = _allocate(folder, count, solo.audio.size, views, sizes)
                boxes, labels, silent = np.zeros((count, views, 4), np.float32), np.zeros(count, np.int64), \
                    np.zeros(count, bool)
            arrays["audio"][i] = solo.audio
            _store_frames(arrays, i, solo.frames, sizes)
            boxes[i], labels[i], silent[i] = solo.boxes / render, solo.label, solo.silent
            if (i + 1) % 250 == 0:
                log.info("rendered %d/%d solos (%.0f s)", i + 1, count, time.perf_counter() - start)
    _finish(folder, arrays, boxes, labels, silent, {
        "count": count, "sizes": sizes, "seed": seed,
        "source": f"real photos and sounds of sources.toml's train sources ({real})" if real
        else str(index) if index else "synthetic FluidR3_GM",
        "instruments": instruments or list(NAMES)})


# ------------------------------------------------------------------------------------------- packing

def pack(cache: SoloCache, dest: Path, count: int | None = None, views: list[int] | None = None,
         size: int = 128, audio_quality: float = 0.1, jpeg_quality: int = 80, sample_rate: int = 11025,
         samples: int | None = None) -> int:
    """Write the first ``count`` solos of ``cache`` (frames ``views`` of each, at ``size``; the central
    ``samples`` of each sound, default all) as a pack; returns its size in bytes.  Audio: Ogg Vorbis at
    ``audio_quality`` (0-1); frames: JPEG."""
    count = min(count or len(cache), len(cache))
    views = views if views is not None else list(range(cache.boxes.shape[1]))
    stored = cache.audio.shape[1]
    samples = min(samples or stored, stored)
    first = (stored - samples) // 2
    dest.mkdir(parents=True, exist_ok=True)
    audio, audio_ends, frames, frame_ends = io.BytesIO(), [], io.BytesIO(), []
    for i in range(count):
        sf.write(audio, np.asarray(cache.audio[i, first: first + samples], np.float32), sample_rate, format="OGG",
                 subtype="VORBIS", compression_level=1.0 - audio_quality)
        audio_ends.append(audio.tell())
        for v in views:
            Image.fromarray(np.asarray(cache.frames[size][i, v])).save(frames, "JPEG", quality=jpeg_quality)
            frame_ends.append(frames.tell())
    (dest / "audio.bin").write_bytes(audio.getvalue())
    (dest / "frames.bin").write_bytes(frames.getvalue())
    np.savez(dest / "tables.npz", audio_ends=np.array(audio_ends), frame_ends=np.array(frame_ends),
             boxes=cache.boxes[:count][:, views], labels=cache.labels[:count], silent=cache.silent[:count])
    meta = {**cache.meta, "count": count, "sizes": [size], "samples": samples,
            "sample_rate": sample_rate, "views": views, "audio_quality": audio_quality, "jpeg_quality": jpeg_quality,
            "source": f"{cache.meta['source']} (packed: Vorbis q{audio_quality}, JPEG q{jpeg_quality})"}
    (dest / "meta.json").write_text(json.dumps(meta))
    return sum(f.stat().st_size for f in dest.iterdir())


def _blobs(data: bytes, ends: np.ndarray, first: int, last: int) -> list[bytes]:
    starts = np.concatenate([[0], ends[:-1]])
    return [data[starts[i]: ends[i]] for i in range(first, last)]


def _decode(job: tuple[list[bytes], list[bytes], int, int]) -> tuple[np.ndarray, np.ndarray]:
    audios, frames, samples, views = job
    audio = np.zeros((len(audios), samples), np.float16)
    for j, blob in enumerate(audios):
        decoded, _ = sf.read(io.BytesIO(blob), dtype="float32")
        audio[j, : min(samples, len(decoded))] = decoded[:samples]
    images = np.stack([np.asarray(Image.open(io.BytesIO(b)).convert("RGB")) for b in frames])
    return audio, images.reshape(len(audios), views, *images.shape[1:])


def unpack(source: Path, folder: Path, sizes: list[int], workers: int = 1, chunk: int = 64) -> None:
    """Decode a pack into a cache folder with frames at each of ``sizes``."""
    meta = json.loads((source / "meta.json").read_text())
    tables = np.load(source / "tables.npz")
    audio, frames = (source / "audio.bin").read_bytes(), (source / "frames.bin").read_bytes()
    count, views, samples = meta["count"], len(meta["views"]), meta["samples"]
    folder.mkdir(parents=True, exist_ok=True)
    arrays = _allocate(folder, count, samples, views, sizes)
    jobs = [(_blobs(audio, tables["audio_ends"], a, min(a + chunk, count)),
             _blobs(frames, tables["frame_ends"], a * views, min(a + chunk, count) * views), samples, views)
            for a in range(0, count, chunk)]
    start = time.perf_counter()
    with multiprocessing.get_context("spawn").Pool(workers) as pool:
        for c, (decoded_audio, decoded_frames) in enumerate(pool.imap(_decode, jobs)):
            for j in range(len(decoded_audio)):
                i = c * chunk + j
                arrays["audio"][i] = decoded_audio[j]
                _store_frames(arrays, i, decoded_frames[j], sizes)
    log.info("unpacked %d solos from %s in %.0f s", count, source, time.perf_counter() - start)
    _finish(folder, arrays, tables["boxes"], tables["labels"], tables["silent"],
            {**{k: meta[k] for k in ("seed", "source", "instruments")}, "count": count, "sizes": sizes})
