"""Real footage in the index format of the original Sound-of-Pixels code.

Each CSV row is ``audio path, frames folder, frame count``: the folder holds the video's frames as
``000001.jpg, 000002.jpg, ...`` extracted at ``fps`` frames per second (8 in the original), and the
audio file (mp3, wav, ...) covers the same time span. The instrument is the name of the audio file's
folder (``audio/violin/xyz.mp3``), matched against ``instruments.NAMES``; others are labelled -1.
"""

from __future__ import annotations

import csv
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
from PIL import Image

from .instruments import NAMES
from .solo import Solo, frame_times


@dataclass(frozen=True)
class IndexRow:
    audio: Path
    frames: Path
    count: int
    label: int


def label_from_folder(folder: str, names: tuple[str, ...] = NAMES) -> int:
    """Index of the instrument a folder is named after (``acoustic_guitar`` -> guitar), else -1."""
    words = folder.lower().replace("-", "_").replace(" ", "_").split("_")
    for i, name in enumerate(names):
        if any(w == name or w == name + "s" for w in words):
            return i
    return -1


def read_index(path: str | Path) -> list[IndexRow]:
    """The rows of an index CSV; relative paths are taken from the CSV's folder."""
    base = Path(path).parent
    rows = []
    with open(path, newline="") as f:
        for fields in csv.reader(f):
            if len(fields) < 3:
                continue
            audio = base / fields[0].strip()
            rows.append(IndexRow(audio, base / fields[1].strip(), int(fields[2]), label_from_folder(audio.parent.name)))
    if not rows:
        raise ValueError(f"{path} lists no clips")
    return rows


def read_audio_window(path: Path, start: float, n_samples: int, sample_rate: int) -> np.ndarray:
    """Mono float32 audio from ``start`` seconds on, zero-padded outside the file."""
    out = np.zeros(n_samples, np.float32)
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        if start > 1.0:
            container.seek(int((start - 1.0) / stream.time_base), stream=stream)
        resampler = av.AudioResampler(format="flt", layout="mono", rate=sample_rate)
        cursor = None  # sample index (at sample_rate, from file start) of the next resampled sample
        for frame in container.decode(stream):
            if cursor is None:
                cursor = int(round((frame.time or 0.0) * sample_rate))
            for chunk in resampler.resample(frame):
                cursor = _place(out, chunk.to_ndarray()[0], cursor, start, sample_rate)
            if cursor - start * sample_rate >= n_samples:
                break
        else:
            for chunk in resampler.resample(None):
                cursor = _place(out, chunk.to_ndarray()[0], cursor or 0, start, sample_rate)
    return out


def _place(out: np.ndarray, chunk: np.ndarray, cursor: int, start: float, sample_rate: int) -> int:
    offset = cursor - int(round(start * sample_rate))
    lo, hi = max(0, offset), min(len(out), offset + len(chunk))
    if hi > lo:
        out[lo:hi] = chunk[lo - offset:hi - offset]
    return cursor + len(chunk)


def load_frame(path: Path, size: int) -> np.ndarray:
    """A JPEG centre-cropped to a square and resized to ``size``, uint8 RGB."""
    with Image.open(path) as image:
        image = image.convert("RGB")
        side = min(image.size)
        left, top = (image.width - side) // 2, (image.height - side) // 2
        image = image.resize((size, size), Image.BICUBIC, box=(left, top, left + side, top + side))
        return np.asarray(image)


class IndexSolos:
    """Solos cut from the clips of an index CSV, in the same form as ``SoloGenerator``'s.

    A window of ``n_samples`` is centred on a random time (keeping clear of the clip's ends when it
    is long enough); its frames are the extracted frames nearest to ``frame_times``. Boxes are the
    whole frame, since real footage comes without them.
    """

    def __init__(self, index: str | Path, image_size: int = 128, n_frames: int = 3, n_samples: int = 65536,
                 sample_rate: int = 11025, fps: float = 8.0):
        self.rows = read_index(index)
        self.image_size = image_size
        self.n_frames = n_frames
        self.n_samples = n_samples
        self.sample_rate = sample_rate
        self.fps = fps

    def draw(self, rng: np.random.Generator, exclude: Collection[int] = ()) -> Solo:
        allowed = [r for r in self.rows if r.label < 0 or r.label not in exclude] or self.rows
        return self.cut(allowed[rng.integers(len(allowed))], rng)

    def cut(self, row: IndexRow, rng: np.random.Generator | None = None) -> Solo:
        """A window of ``row``: at a random time, or in the middle without ``rng``."""
        duration = self.n_samples / self.sample_rate
        clip = row.count / self.fps
        margin = min(duration / 2, clip / 2)
        centre = clip / 2 if rng is None else rng.uniform(margin, clip - margin)
        start = centre - duration / 2
        times = start + frame_times(self.n_frames, duration)
        indices = np.clip(np.floor(times * self.fps).astype(int) + 1, 1, row.count)
        frames = np.stack([load_frame(row.frames / f"{i:06d}.jpg", self.image_size) for i in indices])
        audio = read_audio_window(row.audio, start, self.n_samples, self.sample_rate)
        boxes = np.tile(np.array([0, 0, self.image_size, self.image_size], np.float32), (self.n_frames, 1))
        return Solo(audio, frames, boxes, row.label, silent=not np.any(audio))
