"""Held-out evaluation scenes: duets and trios on one screen, written as real video files.

Each scene is an H.264 + AAC ``.mp4`` with a JSON sidecar giving, per source, its label, stem WAV,
boxes per video frame and a click point on the instrument; the stems sum to the mixture in the
video (before AAC coding; ``mixture.wav`` holds the exact sum). Scenes draw from the evaluation
random stream, so their melodies, voices, rooms and layouts are never those of training seeds.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import soundfile as sf
from PIL import Image

from .instruments import INSTRUMENTS
from .solo import EVAL_STREAM, Performance, distractors, perform
from .synth import NoteBank
from .visuals import Actor, Camera, background, look, onset_envelope, place


@dataclass
class SceneSource:
    name: str
    label: int
    stem: np.ndarray  # (2, samples) float32, panned to where the instrument stands
    boxes: np.ndarray  # (video frames, 4) x0, y0, x1, y1 in pixels
    click: tuple[float, float, float]  # x, y, time: a pixel of the instrument itself


@dataclass
class Scene:
    seed: int
    width: int
    height: int
    fps: int
    sample_rate: int
    frames: np.ndarray  # (video frames, height, width, 3) uint8
    sources: list[SceneSource]  # sounding instruments
    silent: list[SceneSource]  # instruments on screen that play nothing (stems of zeros)

    @property
    def mixture(self) -> np.ndarray:
        return sum(s.stem for s in self.sources)


def compose_scene(seed: int, n_sources: int, width: int = 640, height: int = 360, fps: int = 24,
                  duration: float = 8.0, bank: NoteBank | None = None, silent_prob: float = 0.25,
                  max_distractors: int = 3) -> Scene:
    """Scene ``seed`` with ``n_sources`` distinct sounding instruments side by side, sometimes a silent
    extra instrument, and props; ``bank`` sets soundfont and sample rate (FluidR3 at 44.1 kHz)."""
    bank = bank or NoteBank(44100, persist=False)
    rng = np.random.default_rng([EVAL_STREAM, n_sources, seed])
    n_silent = int(rng.random() < silent_prob)
    labels = rng.choice(len(INSTRUMENTS), n_sources + n_silent, replace=False)
    n_samples = int(round(duration * bank.sample_rate))
    performances = [perform(bank, INSTRUMENTS[k], rng, n_samples, silent=i >= n_sources) for i, k in enumerate(labels)]
    while any(p.silent for p in performances[:n_sources]):  # a held-out source must sound
        i = next(i for i, p in enumerate(performances[:n_sources]) if p.silent)
        performances[i] = perform(bank, performances[i].instrument, rng, n_samples)
    _balance(performances[:n_sources], rng)

    slots = _slots(rng, len(performances), width, height)
    actors = []
    for p, slot in zip(performances, slots):
        image = look(rng, p.instrument.emoji, 0.5)
        fits = 0.7 * (slot[2] - slot[0]) * image.height / max(image.width, image.height)
        actors.append(place(rng, image, min(rng.uniform(0.3, 0.5) * height, fits), width, height,
                            region=slot, drift=0.04))
    props = distractors(rng, int(rng.integers(0, max_distractors + 1)), width, height, actors[0], (0.1, 0.2))
    backdrop, camera = background(rng, height, width), Camera.random(rng)

    n_frames = int(round(duration * fps))
    times = (np.arange(n_frames) + 0.5) / fps
    pulses = [onset_envelope(p.notes, times) for p in performances]
    frames = np.empty((n_frames, height, width, 3), np.uint8)
    boxes = np.empty((len(actors), n_frames, 4), np.float32)
    click_frame = n_frames // 2
    clicks = []
    for f, t in enumerate(times):
        canvas = backdrop.copy()
        for prop in props:
            prop.draw(canvas, t / duration)
        for a, actor in enumerate(actors):
            boxes[a, f], placed, corner = actor.draw(canvas, t / duration, float(pulses[a][f]))
            if f == click_frame:
                clicks.append(_click(placed, corner, float(t)))
        frames[f] = camera.develop(canvas, rng)

    out = []
    for p, actor, box, click, k in zip(performances, actors, boxes, clicks, labels):
        pan = (actor.start[0] / width - 0.5) * 0.8  # -0.4 (left) .. 0.4 (right)
        gains = np.array([np.cos((pan + 1) * np.pi / 4), np.sin((pan + 1) * np.pi / 4)], np.float32) * np.sqrt(2)
        out.append(SceneSource(p.instrument.name, int(k), gains[:, None] * p.audio[None], box, click))
    return Scene(seed, width, height, fps, bank.sample_rate, frames, out[:n_sources], out[n_sources:])


def _balance(performances: list[Performance], rng: np.random.Generator) -> None:
    """Equal loudness within +-3 dB, summing to a mixture that peaks at most at 0.9."""
    for p in performances:
        p.audio *= 0.05 * 10 ** (rng.uniform(-3, 3) / 20) / np.sqrt(np.mean(p.audio**2))
    peak = np.abs(sum(p.audio for p in performances)).max() * np.sqrt(2)
    if peak > 0.9:
        for p in performances:
            p.audio *= 0.9 / peak


def _slots(rng: np.random.Generator, n: int, width: int, height: int) -> list[tuple[float, float, float, float]]:
    """Side-by-side regions with jittered borders, in random order."""
    edges = np.linspace(0, width, n + 1)
    edges[1:-1] += rng.uniform(-0.08, 0.08, n - 1) * width / n
    order = rng.permutation(n)
    return [(edges[i], 0.0, edges[i + 1], float(height)) for i in order]


def _click(placed: Image.Image, corner: tuple[int, int], time: float) -> tuple[float, float, float]:
    """The opaque pixel of the placed sprite nearest to its centre of mass."""
    alpha = np.asarray(placed.getchannel("A")) > 128
    ys, xs = np.nonzero(alpha)
    cy, cx = ys.mean(), xs.mean()
    i = int(np.argmin((ys - cy) ** 2 + (xs - cx) ** 2))
    return float(xs[i] + corner[0]), float(ys[i] + corner[1]), time


def write_scene(scene: Scene, folder: Path, name: str) -> Path:
    """Write ``name.mp4``, its stems, ``name.mixture.wav`` and the sidecar ``name.json``; returns the sidecar."""
    folder.mkdir(parents=True, exist_ok=True)
    video = folder / f"{name}.mp4"
    _write_video(video, scene)
    sf.write(folder / f"{name}.mixture.wav", scene.mixture.T, scene.sample_rate, subtype="FLOAT")
    entries = {}
    for key, group in (("sources", scene.sources), ("silent", scene.silent)):
        entries[key] = []
        for i, s in enumerate(group):
            stem = f"{name}.{key}{i}.{s.name}.wav"
            if key == "sources":
                sf.write(folder / stem, s.stem.T, scene.sample_rate, subtype="FLOAT")
            entries[key].append({
                "name": s.name, "label": s.label, **({"stem": stem} if key == "sources" else {}),
                "click": {"x": s.click[0], "y": s.click[1], "time": s.click[2]},
                "boxes": np.round(s.boxes, 1).tolist(),
            })
    sidecar = folder / f"{name}.json"
    sidecar.write_text(json.dumps({
        "video": video.name, "mixture": f"{name}.mixture.wav", "seed": scene.seed,
        "width": scene.width, "height": scene.height, "fps": scene.fps, "sample_rate": scene.sample_rate,
        "frames": len(scene.frames), "duration": len(scene.frames) / scene.fps,
        "boxes_format": "per video frame: x0, y0, x1, y1 in pixels, origin top-left",
        **entries,
    }, indent=1))
    return sidecar


def _write_video(path: Path, scene: Scene) -> None:
    tmp = path.with_suffix(".tmp.mp4")
    with av.open(str(tmp), "w") as container:
        video = container.add_stream("libx264", rate=scene.fps)
        video.width, video.height, video.pix_fmt = scene.width, scene.height, "yuv420p"
        video.options = {"crf": "18", "preset": "veryfast"}
        audio = container.add_stream("aac", rate=scene.sample_rate, layout="stereo")
        for frame in scene.frames:
            container.mux(video.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        container.mux(video.encode())
        mixture = scene.mixture.astype(np.float32)
        step = 1024
        for start in range(0, mixture.shape[1], step):
            chunk = np.ascontiguousarray(mixture[:, start:start + step])
            frame = av.AudioFrame.from_ndarray(chunk, format="fltp", layout="stereo")
            frame.sample_rate, frame.pts, frame.time_base = scene.sample_rate, start, Fraction(1, scene.sample_rate)
            container.mux(audio.encode(frame))
        container.mux(audio.encode())
    tmp.replace(path)

