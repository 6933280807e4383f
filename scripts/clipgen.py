"""Synthetic music clips for the tests and the benchmark.

Each clip shows a few coloured "instruments" (discs on a gradient) that bob with
their own notes; each instrument has its own timbre.  Every container, codec,
sample rate and channel layout FFmpeg can write is reachable through the
arguments, so tests decode real media of every kind the core must read.
"""
from __future__ import annotations

import argparse
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from pixelplayer_blender.core import media

# Default codecs per container: (video, audio).
CODECS = {
    ".mp4": ("libx264", "aac"),
    ".mov": ("libx264", "aac"),
    ".mkv": ("libx264", "flac"),
    ".webm": ("libvpx", "libopus"),
    ".avi": ("mpeg4", "libmp3lame"),
}
LAYOUTS = {1: "mono", 2: "stereo", 6: "5.1"}
COLOURS = [(230, 60, 40), (40, 120, 230), (240, 200, 30), (60, 190, 90)]
# Harmonic amplitude profiles: bright (sawtooth-like), hollow (odd harmonics), soft (sine-like).
TIMBRES = [
    1.0 / np.arange(1, 13),
    np.where(np.arange(1, 13) % 2 == 1, 1.0 / np.arange(1, 13), 0.0),
    0.5 ** np.arange(0, 12),
]


@dataclass
class Instrument:
    """One sounding object: where it is drawn and what it plays."""

    colour: tuple[int, int, int]
    home: tuple[float, float]  # centre as a fraction of (width, height)
    radius: float  # fraction of the frame height
    stem: np.ndarray  # (samples,) mono signal at the clip's rate

    def centre(self, t: float, width: int, height: int) -> tuple[int, int]:
        """Pixel centre at time ``t``: a slow horizontal drift."""
        x = self.home[0] + 0.04 * np.sin(0.7 * t + self.home[1] * 6.0)
        return int(x * width), int(self.home[1] * height)


@dataclass
class Clip:
    path: Path
    seconds: float
    width: int
    height: int
    fps: int
    sample_rate: int
    channels: int
    instruments: list[Instrument]

    def point(self, index: int, t: float = 0.0) -> tuple[int, int]:
        """The pixel to click for instrument ``index`` at time ``t``."""
        return self.instruments[index].centre(t, self.width, self.height)


def _melody(rng: np.random.Generator, seconds: float, rate: int, timbre: np.ndarray, base_hz: float) -> np.ndarray:
    """A monophonic line of enveloped harmonic notes with rests."""
    out = np.zeros(int(round(seconds * rate)), np.float32)
    scale = np.array([0, 2, 4, 5, 7, 9, 11, 12])
    t = 0.0
    while t < seconds:
        dur = rng.choice([0.25, 0.375, 0.5, 0.75])
        if rng.random() > 0.15:  # else a rest
            f0 = base_hz * 2.0 ** (rng.choice(scale) / 12.0)
            n = min(int(dur * rate), out.size - int(t * rate))
            tt = np.arange(n) / rate
            harmonics = np.arange(1, timbre.size + 1)
            keep = harmonics * f0 < rate / 2
            phases = 2 * np.pi * f0 * tt[:, None] * harmonics[keep]
            note = (np.sin(phases) * timbre[keep]).sum(axis=1)
            env = np.minimum(1.0, tt / 0.01) * np.exp(-tt * 3.0) * np.minimum(1.0, (n / rate - tt) / 0.02)
            out[int(t * rate): int(t * rate) + n] += (0.25 * note * env).astype(np.float32)
        t += dur
    return out


def _instruments(count: int, seconds: float, rate: int, seed: int) -> list[Instrument]:
    rng = np.random.default_rng(seed)
    homes = [(0.25, 0.5), (0.75, 0.5), (0.5, 0.25), (0.5, 0.75)]
    return [
        Instrument(COLOURS[i], homes[i], 0.16, _melody(rng, seconds, rate, TIMBRES[i % 3], 196.0 * 1.5**i))
        for i in range(count)
    ]


def _spread(mono: np.ndarray, channels: int, pan: float) -> np.ndarray:
    """Place a mono stem in ``channels`` channels, panned left (0) to right (1)."""
    if channels == 1:
        return mono[None]
    gains = np.full(channels, 0.3)
    gains[0], gains[1] = np.cos(pan * np.pi / 2), np.sin(pan * np.pi / 2)
    return gains[:, None].astype(np.float32) * mono[None]


def _frames(clip: Clip):
    """Yield RGB frames: a vertical gradient with each instrument's disc, bobbing with its loudness."""
    h, w = clip.height, clip.width
    yy, xx = np.mgrid[0:h, 0:w]
    background = np.empty((h, w, 3), np.uint8)
    background[..., 0] = 30 + 40 * yy // h
    background[..., 1] = 30 + 60 * xx // w
    background[..., 2] = 70
    hop = clip.sample_rate // clip.fps
    for i in range(int(clip.seconds * clip.fps)):
        frame = background.copy()
        t = i / clip.fps
        for inst in clip.instruments:
            level = float(np.abs(inst.stem[i * hop: (i + 1) * hop]).max(initial=0.0))
            cx, cy = inst.centre(t, w, h)
            cy -= int(level * 0.1 * h)
            r = int(inst.radius * h)
            y0, y1, x0, x1 = max(cy - r, 0), min(cy + r, h), max(cx - r, 0), min(cx + r, w)
            disc = (yy[y0:y1, x0:x1] - cy) ** 2 + (xx[y0:y1, x0:x1] - cx) ** 2 <= r * r
            frame[y0:y1, x0:x1][disc] = inst.colour
        yield frame


def write_clip(
    path: str | Path,
    seconds: float = 6.0,
    width: int = 320,
    height: int = 240,
    fps: int = 25,
    sample_rate: int = 44100,
    channels: int = 2,
    instruments: int = 2,
    video_codec: str | None = None,
    audio_codec: str | None = None,
    video: bool = True,
    audio: bool = True,
    seed: int = 0,
    rotation: int = 0,
    gain_db: float = 0.0,
) -> Clip:
    """Write a synthetic performance to ``path`` (container from its suffix) and describe it.

    With ``rotation`` (degrees counter-clockwise, a quarter-turn multiple) the picture is stored
    turned back by that much, with a display matrix that turns it upright again, as phones do:
    players show ``width`` x ``height``, and :meth:`Clip.point` is in the displayed picture.  ``gain_db``
    makes the sound written louder or quieter (the stems described stay as they are).
    """
    if rotation % 90:
        raise ValueError(f"rotation must be a multiple of 90 degrees, got {rotation}")
    path = Path(path)
    default_video, default_audio = CODECS.get(path.suffix.lower(), ("libx264", "aac"))
    clip = Clip(path, seconds, width, height, fps, sample_rate, channels,
                _instruments(instruments, seconds, sample_rate, seed))
    mix = sum(_spread(inst.stem, channels, inst.home[0]) for inst in clip.instruments) * 10 ** (gain_db / 20)
    with av.open(str(path), "w") as out:
        vstream = astream = None
        if video:
            vstream = out.add_stream(video_codec or default_video, rate=fps)
            vstream.width, vstream.height = (height, width) if rotation % 180 else (width, height)
            vstream.pix_fmt = "yuv420p"
            if rotation % 360:
                vstream.set_display_rotation(rotation)
            vstream.codec_context.gop_size = 2 * fps
            if vstream.codec_context.name == "libx264":
                vstream.options = {"preset": "veryfast"}
        if audio:
            astream = out.add_stream(audio_codec or default_audio, rate=sample_rate)
            astream.layout = LAYOUTS[channels]
        audio_packets = iter(media.encode_audio(astream, mix, sample_rate, LAYOUTS[channels]) if astream else [])
        pending = next(audio_packets, None)
        if vstream is not None:
            for i, rgb in enumerate(_frames(clip)):
                stored = np.ascontiguousarray(np.rot90(rgb, -(rotation // 90)))
                out.mux(vstream.encode(av.VideoFrame.from_ndarray(stored, format="rgb24")))
                # Keep the streams interleaved: audio up to the end of this frame.
                while pending is not None and pending.pts is not None and pending.pts * pending.time_base <= (i + 1) / fps:
                    out.mux(pending)
                    pending = next(audio_packets, None)
            out.mux(vstream.encode(None))
        while pending is not None:
            out.mux(pending)
            pending = next(audio_packets, None)
    return clip


def loop_clip(segment: str | Path, path: str | Path, times: int) -> Path:
    """Write ``segment`` ``times`` over, back to back, without re-encoding: long clips, cheaply.

    Every copy's packets are shifted by the segment's span (all streams, rounded up to a video frame),
    so each stream stays monotonic; a copy starts on a keyframe, as the segment does.
    """
    segment, path = Path(segment), Path(path)
    with av.open(str(segment)) as src:
        streams = [*src.streams.video[:1], *src.streams.audio[:1]]
        fps = src.streams.video[0].average_rate if src.streams.video else None
        packets = [p for p in src.demux(*streams) if p.dts is not None]
        # From the earliest decoding time (B-frames and audio priming start before 0) to the latest end.
        length = max((p.pts + p.duration) * p.time_base for p in packets) - min(p.dts * p.time_base for p in packets)
    if fps:
        length = Fraction(-(-length * fps // 1), fps)  # up to a whole frame
    with av.open(str(path), "w") as out:
        with av.open(str(segment)) as src:
            outs = {s.index: out.add_stream_from_template(s) for s in (*src.streams.video[:1], *src.streams.audio[:1])}
        for copy in range(times):
            with av.open(str(segment)) as src:
                for packet in src.demux(*[src.streams[i] for i in outs]):
                    if packet.dts is None:
                        continue
                    shift = int(copy * length / packet.time_base)
                    packet.pts, packet.dts = packet.pts + shift, packet.dts + shift
                    packet.stream = outs[packet.stream.index]
                    out.mux(packet)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out")
    parser.add_argument("--seconds", type=float, default=12.0)
    parser.add_argument("--size", default="640x360")
    parser.add_argument("--fps", type=int, default=25)
    parser.add_argument("--rate", type=int, default=44100)
    parser.add_argument("--channels", type=int, default=2, choices=sorted(LAYOUTS))
    parser.add_argument("--instruments", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--rotate", type=int, default=0, choices=[0, 90, 180, 270],
                        help="store the picture turned, with a display matrix turning it back by this many "
                             "degrees counter-clockwise (phone footage); --size is the displayed size")
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.split("x"))
    clip = write_clip(args.out, args.seconds, width, height, args.fps, args.rate, args.channels,
                      args.instruments, seed=args.seed, rotation=args.rotate)
    for i in range(len(clip.instruments)):
        print("instrument %d at %d,%d" % ((i,) + clip.point(i)))


if __name__ == "__main__":
    main()
