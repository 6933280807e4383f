"""Media I/O: PyAV for decoding, resampling and muxing, soundfile for stems.

Every reader streams: audio is decoded block by block, frames are decoded only around the
times asked for (seeking over long gaps) and scaled by the decoder's scaler.  Frames come out
as displayed: a stream's display matrix (phone footage) is applied, and sizes are displayed sizes.
"""
from __future__ import annotations

import mmap
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Iterator

import av
import numpy as np

from .errors import PixelPlayerError
from .files import atomic_path

# Decoding forward is cheaper than seeking when the next wanted frame is this close (s).
SEEK_GAP = 2.0
# Audio codec written by a remix, per container suffix.
REMIX_CODECS = {".mp4": "aac", ".m4v": "aac", ".mov": "aac", ".mkv": "aac", ".webm": "libopus", ".avi": "libmp3lame"}


@dataclass(frozen=True)
class VideoInfo:
    width: int  # displayed size: the stored one, turned by ``rotation``
    height: int
    fps: float
    codec: str
    rotation: int = 0  # degrees counter-clockwise the player turns the stored picture: 0, 90, 180 or 270


@dataclass(frozen=True)
class AudioInfo:
    sample_rate: int
    channels: int
    layout: str
    codec: str


@dataclass(frozen=True)
class MediaInfo:
    path: Path
    container: str
    duration: float  # seconds
    size_bytes: int
    video: VideoInfo | None
    audio: AudioInfo | None


def _open(path: Path) -> av.container.InputContainer:
    """Open a media file for reading, turning FFmpeg's errors into one readable line."""
    if not path.is_file():
        raise PixelPlayerError(f"no such file: {path}")
    try:
        return av.open(str(path))
    except av.error.FFmpegError as e:
        raise PixelPlayerError(f"cannot read {path}: corrupt, truncated or not a media file ({e.strerror})") from None


def probe(path: str | Path) -> MediaInfo:
    """Describe the first video and audio streams of a file."""
    path = Path(path)
    with _open(path) as c:
        video = audio = None
        durations = [c.duration / av.time_base] if c.duration else []
        if c.streams.video:
            s = c.streams.video[0]
            fps = float(s.average_rate or s.guessed_rate or 25)
            turn = _rotation(path, c, s)
            w, h = s.codec_context.width, s.codec_context.height
            video = VideoInfo(*((h, w) if turn % 180 else (w, h)), fps, s.codec_context.name, turn)
        if c.streams.audio:
            s = c.streams.audio[0]
            cc = s.codec_context
            audio = AudioInfo(cc.sample_rate, cc.channels, cc.layout.name, cc.name)
        for s in (*c.streams.video[:1], *c.streams.audio[:1]):
            if s.duration:
                durations.append(float(s.duration * s.time_base))
        return MediaInfo(path, c.format.name, max(durations, default=0.0), path.stat().st_size, video, audio)


def _rotation(path: Path, container: av.container.InputContainer, stream) -> int:
    """The display matrix's turn (degrees counter-clockwise, to a quarter turn), read off the first frame."""
    try:
        frame = next(container.decode(stream), None)
    except av.error.FFmpegError as e:
        raise PixelPlayerError(f"cannot decode the video of {path}: corrupt or truncated ({e.strerror})") from None
    return 0 if frame is None else _turn(frame)


def _turn(frame: av.VideoFrame) -> int:
    """A frame's display rotation, counter-clockwise, to the nearest quarter turn: 0, 90, 180 or 270."""
    return round(frame.rotation / 90) % 4 * 90


def displayed(image: np.ndarray, rotation: int) -> np.ndarray:
    """A stored ``(h, w, ...)`` picture turned as the display matrix says (``rotation`` counter-clockwise)."""
    return np.ascontiguousarray(np.rot90(image, rotation // 90)) if rotation else image


def _audio_stream(path: Path, c: av.container.InputContainer):
    if not c.streams.audio:
        raise PixelPlayerError(f"{path} has no audio stream")
    return c.streams.audio[0]


def _audio_frames(path: Path, c: av.container.InputContainer, sample_rate: int | None,
                  mono: bool) -> Iterator[np.ndarray]:
    """The first audio stream of open ``c`` as float32 ``(channels, n)`` arrays in decoding order,
    optionally resampled/downmixed."""
    cc = _audio_stream(path, c).codec_context
    resampler = av.AudioResampler(format="fltp", layout="mono" if mono else cc.layout,
                                  rate=sample_rate or cc.sample_rate)
    empty = True
    try:
        for frame in c.decode(c.streams.audio[0]):
            for f in resampler.resample(frame):
                empty = False
                yield f.to_ndarray()
    except av.error.FFmpegError as e:
        raise PixelPlayerError(f"cannot decode the audio of {path}: corrupt or truncated ({e.strerror})") from None
    for f in resampler.resample(None):
        empty = False
        yield f.to_ndarray()
    if empty:
        raise PixelPlayerError(f"{path}: the audio stream holds no samples")


def decode_audio(path: str | Path, sample_rate: int | None = None, mono: bool = False) -> np.ndarray:
    """Decode the first audio stream to float32 ``(channels, samples)``, optionally resampled/downmixed."""
    path = Path(path)
    with _open(path) as c:
        stream = _audio_stream(path, c)
        cc = stream.codec_context
        rate = sample_rate or cc.sample_rate
        seconds = float(stream.duration * stream.time_base) if stream.duration else (c.duration or 0) / av.time_base
        out = Growing(1 if mono else cc.channels, int(seconds * rate) + rate)
        for block in _audio_frames(path, c, sample_rate, mono):
            out.append(block)
    return out.array()


def audio_blocks(path: str | Path, samples: int = 1 << 16) -> Iterator[np.ndarray]:
    """The first audio stream at its own rate and channels, as consecutive float32 ``(channels, samples)``
    blocks (the last one shorter): the whole clip never sits in memory."""
    path = Path(path)
    pending: list[np.ndarray] = []
    held = 0
    with _open(path) as c:
        for frame in _audio_frames(path, c, None, False):
            pending.append(frame)
            held += frame.shape[1]
            if held >= samples:
                joined = np.concatenate(pending, axis=1)
                cut = held - held % samples
                for start in range(0, cut, samples):
                    yield joined[:, start:start + samples]
                pending, held = [joined[:, cut:]], held - cut
    if held:
        yield np.concatenate(pending, axis=1)


class Growing:
    """A ``(channels, n)`` float32 buffer filled block by block, sized ahead to avoid a second full copy."""

    def __init__(self, channels: int, capacity: int) -> None:
        self.data = np.empty((channels, capacity), np.float32)
        self.size = 0

    def append(self, block: np.ndarray) -> None:
        n = block.shape[1]
        if self.size + n > self.data.shape[1]:
            self.data = np.concatenate([self.data[:, : self.size], np.empty_like(self.data)], axis=1)
        self.data[:, self.size: self.size + n] = block
        self.size += n

    def array(self) -> np.ndarray:
        return self.data[:, : self.size]


class Resampler:
    """FFmpeg's resampler (optionally downmixing to mono) fed ``(channels, n)`` float blocks one at a time."""

    def __init__(self, rate: int, layout: str, new_rate: int, mono: bool = False) -> None:
        self.rate, self.layout = rate, layout
        self._resampler = av.AudioResampler(format="fltp", layout="mono" if mono else layout, rate=new_rate)

    def push(self, block: np.ndarray | None) -> list[np.ndarray]:
        """The output ready after ``block`` (``None`` flushes the end)."""
        frame = None
        if block is not None:
            frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(block, np.float32), format="fltp",
                                               layout=self.layout)
            frame.sample_rate = self.rate
        return [f.to_ndarray() for f in self._resampler.resample(frame)]


def resample(audio: np.ndarray, rate: int, layout: str, new_rate: int, mono: bool = False) -> np.ndarray:
    """Resample (and optionally downmix) a ``(channels, samples)`` array with FFmpeg's resampler."""
    resampler = Resampler(rate, layout, new_rate, mono)
    block = 1 << 16
    chunks = []
    for start in range(0, audio.shape[1], block):
        chunks += resampler.push(audio[:, start:start + block])
    chunks += resampler.push(None)
    return np.concatenate(chunks, axis=1)


class FrameReader:
    """Random-ish access to RGB frames: the frame on screen at time ``t``, as displayed, scaled at decode.

    ``sampled``: for a network that samples a clip's frames sparsely, decode only the frames other frames
    refer to (B-frames are skipped: about 35 % less decoding of H.264), so a frame is the nearest reference
    frame at or before ``t``, at most a few frames early; decoders that cannot skip decode every frame.
    """

    def __init__(self, path: str | Path, size: tuple[int, int] | None = None, sampled: bool = False) -> None:
        self.path = Path(path)
        self.size = size  # displayed (width, height) to scale to, or None for the native size
        self._container = _open(self.path)
        if not self._container.streams.video:
            self._container.close()
            raise PixelPlayerError(f"{self.path} has no video stream")
        self._stream = self._container.streams.video[0]
        self._stream.thread_type = "AUTO"
        if size is not None:
            # Frames scaled down for a network do not need the deblocking filter: ~30 % faster decoding.
            self._stream.codec_context.options = {"skip_loop_filter": "all"}
        if sampled:
            self._stream.codec_context.skip_frame = "NONREF"
        self._frames: Iterator[av.VideoFrame] | None = None
        self._current: av.VideoFrame | None = None
        self._next: av.VideoFrame | None = None

    def close(self) -> None:
        self._container.close()

    def __enter__(self) -> "FrameReader":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _seek(self, t: float) -> None:
        offset = int(max(t, 0.0) / self._stream.time_base) + (self._stream.start_time or 0)
        self._container.seek(offset, stream=self._stream, backward=True)
        self._frames = self._container.decode(self._stream)
        self._current, self._next = None, self._advance()

    def _advance(self) -> av.VideoFrame | None:
        try:
            return next(self._frames)
        except StopIteration:
            return None
        except av.error.FFmpegError as e:
            raise PixelPlayerError(f"cannot decode {self.path}: {e.strerror}") from None

    def frame_at(self, t: float, size: tuple[int, int] | None = None) -> np.ndarray:
        """RGB ``(height, width, 3)`` uint8 frame shown at time ``t`` (seconds from the start), as displayed,
        scaled to ``size`` (displayed ``(width, height)``) if given, else to the reader's."""
        t0 = float(self._stream.start_time * self._stream.time_base) if self._stream.start_time else 0.0
        t += t0
        behind = self._current is not None and self._current.time > t
        far = self._next is not None and t - self._next.time > SEEK_GAP
        if self._frames is None or behind or far:
            self._seek(t - t0)
        while self._next is not None and self._next.time <= t + 1e-6:
            self._current, self._next = self._next, self._advance()
        frame = self._current or self._next
        if frame is None:
            raise PixelPlayerError(f"{self.path}: no video frame at {t - t0:.2f} s")
        turn = _turn(frame)
        size = size or self.size
        if size is None:
            return displayed(frame.to_ndarray(format="rgb24"), turn)
        w, h = size[::-1] if turn % 180 else size
        return displayed(frame.reformat(width=w, height=h, format="rgb24", interpolation="AREA").to_ndarray(), turn)


def read_block(audio: np.ndarray, start: int, stop: int) -> np.ndarray:
    """A float32 copy of samples ``[start, stop)`` of ``(channels, samples)`` audio.

    When ``audio`` is memory-mapped (a separated source), the pages just read are let go: they
    stay in the file, so reading a long stem through does not pull all of it into memory.
    """
    view = audio[:, start:stop]
    block = np.array(view, np.float32)
    root = audio
    while root is not None and not isinstance(getattr(root, "base", None), mmap.mmap):
        root = getattr(root, "base", None)
    if root is not None and hasattr(root.base, "madvise") and view.size:
        bounds = getattr(np, "byte_bounds", None) or np.lib.array_utils.byte_bounds  # moved in NumPy 2
        base = bounds(root)[0] - root.offset % mmap.ALLOCATIONGRANULARITY
        lo, hi = bounds(view)
        first = (lo - base) // mmap.PAGESIZE * mmap.PAGESIZE
        root.base.madvise(mmap.MADV_DONTNEED, first, hi - base - first)
    return block


def blocks(audio: np.ndarray, samples: int = 1 << 18) -> Iterator[np.ndarray]:
    """Consecutive float32 ``(channels, n)`` blocks of ``audio``, read with :func:`read_block`."""
    for start in range(0, audio.shape[1], samples):
        yield read_block(audio, start, start + samples)


def write_audio(path: str | Path, audio: np.ndarray, sample_rate: int) -> Path:
    """Write ``(channels, samples)`` audio atomically, block by block: WAV as 32-bit float, FLAC as 24-bit."""
    import soundfile

    path = Path(path)
    formats = {".wav": ("WAV", "FLOAT"), ".flac": ("FLAC", "PCM_24")}
    if path.suffix.lower() not in formats:
        raise PixelPlayerError(f"unsupported audio format {path.suffix!r}: use .wav or .flac")
    fmt, subtype = formats[path.suffix.lower()]
    with atomic_path(path) as tmp:
        with soundfile.SoundFile(str(tmp), "w", sample_rate, audio.shape[0], subtype=subtype, format=fmt) as f:
            for block in blocks(audio):
                f.write(block.T)
    return path


def encode_audio(stream, audio: np.ndarray, sample_rate: int, layout: str) -> list[av.Packet]:
    """Encode ``(channels, samples)`` float audio with an output stream's codec; flushes at the end."""
    fmt = stream.codec_context.codec.audio_formats[0].name
    resampler = av.AudioResampler(format=fmt, layout=layout, rate=stream.codec_context.sample_rate)
    block = stream.codec_context.frame_size or 1024
    packets: list[av.Packet] = []
    big = block * max(1, (1 << 18) // block)  # read in large blocks, each a whole number of codec frames
    for offset, chunk in zip(range(0, audio.shape[1], big), blocks(audio, big)):
        for start in range(0, chunk.shape[1], block):
            frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(chunk[:, start:start + block]), format="fltp",
                                               layout=layout)
            frame.sample_rate, frame.pts, frame.time_base = sample_rate, offset + start, Fraction(1, sample_rate)
            packets += [p for f in resampler.resample(frame) for p in stream.encode(f)]
    packets += [p for f in resampler.resample(None) for p in stream.encode(f)]
    return packets + stream.encode(None)


def write_video_with_audio(source: str | Path, out: str | Path, audio: np.ndarray, sample_rate: int,
                           layout: str) -> Path:
    """Copy ``source``'s video stream untouched (no re-encode) beside a newly encoded audio track."""
    source, out = Path(source), Path(out)
    codec = REMIX_CODECS.get(out.suffix.lower())
    if codec is None:
        raise PixelPlayerError(f"unsupported video format {out.suffix!r}: use one of {sorted(REMIX_CODECS)}")
    rate = 48000 if codec == "libopus" else sample_rate
    with _open(source) as src, atomic_path(out) as tmp, av.open(str(tmp), "w") as dst:
        vin = src.streams.video[0]
        vout = dst.add_stream_from_template(vin)
        aout = dst.add_stream(codec, rate=rate)
        aout.layout = layout
        packets = encode_audio(aout, audio, sample_rate, layout)
        pending = iter(packets)
        nxt = next(pending, None)
        for packet in src.demux(vin):
            if packet.dts is None:
                continue
            t = float(packet.dts * vin.time_base)
            while nxt is not None and nxt.pts is not None and float(nxt.pts * nxt.time_base) <= t:
                dst.mux(nxt)
                nxt = next(pending, None)
            packet.stream = vout
            dst.mux(packet)
        while nxt is not None:
            dst.mux(nxt)
            nxt = next(pending, None)
    return out
