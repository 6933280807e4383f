"""Evaluation sets of real material, written like ``scenes.write_scene`` writes the synthetic ones
(video, ground-truth stems, boxes and click points per source, ``scenes.json``):

- photo scenes: photos of two or three instruments side by side, each heard as a phrase of its
  class, sometimes with a visible silent player (``photo_scene``); held-out sounds or photos;
- real-footage scenes: real solo performance clips (MUSIC excerpts with their true solo audio)
  side by side as duets and trios, and a real solo beside a visible but silent real player
  (``clip_scene``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
import soundfile as sf
from PIL import Image

from .instruments import NAMES
from .photos import PhotoBank, backdrop, cutout, jitter_colour, paste
from .realsolo import Sounds
from .scenes import Scene, SceneSource, _balance, _slots, write_scene
from .solo import EVAL_STREAM
from .sources import Source, local_files
from .synth import resample


def _click(alpha: np.ndarray, time: float) -> tuple[float, float, float]:
    """The opaque pixel nearest to the opaque region's centre of mass."""
    ys, xs = np.nonzero(alpha > 128)
    i = int(np.argmin((ys - ys.mean()) ** 2 + (xs - xs.mean()) ** 2))
    return float(xs[i]), float(ys[i]), time


def _pan(audio: np.ndarray, x: float, width: int) -> np.ndarray:
    """Mono ``audio`` as a stereo stem panned to where the player stands (-0.4 .. 0.4)."""
    pan = (x / width - 0.5) * 0.8
    gains = np.array([np.cos((pan + 1) * np.pi / 4), np.sin((pan + 1) * np.pi / 4)], np.float32) * np.sqrt(2)
    return gains[:, None] * audio[None].astype(np.float32)


def photo_scene(seed: int, n_sources: int, sounds: Sounds, photos: PhotoBank, labels: list[int], stream: int,
                width: int = 640, height: int = 360, fps: int = 24, duration: float = 8.0,
                silent_prob: float = 0.25) -> Scene:
    """Scene ``seed``: ``n_sources`` distinct classes of ``labels`` side by side, each a photo heard
    as a phrase of its class, and sometimes an extra visible player that stays silent."""
    rng = np.random.default_rng([EVAL_STREAM, stream, n_sources, seed])
    n_silent = int(rng.random() < silent_prob and len(labels) > n_sources)
    chosen = [int(k) for k in rng.choice(labels, n_sources + n_silent, replace=False)]
    n_samples = int(round(duration * sounds.sample_rate))
    performances = []
    for label in chosen[:n_sources]:
        performance = sounds.perform(label, rng, n_samples)
        while performance.silent:  # a held-out source must sound
            performance = sounds.perform(label, rng, n_samples)
        performances.append(performance)
    _balance(performances, rng)

    canvas = backdrop(photos, rng, width, height, avoid=chosen[0])
    slots = _slots(rng, len(chosen), width, height)
    placed = []
    for label, (x0, _, x1, _) in zip(chosen, slots):
        sprite = jitter_colour(cutout(photos.image(photos.pick(rng, label)), rng), rng, 0.5)
        size = min(rng.uniform(0.45, 0.8) * height, 0.85 * (x1 - x0) * sprite.height / sprite.width)
        centre = ((x0 + x1) / 2 + rng.uniform(-0.05, 0.05) * (x1 - x0), height * rng.uniform(0.42, 0.58))
        layer = Image.new("RGBA", (width, height), (0, 0, 0, 0))
        box = paste(layer, sprite, size, centre, bool(rng.random() < 0.5))
        canvas.alpha_composite(layer)
        placed.append((box, np.asarray(layer.getchannel("A"))))
    frame = np.asarray(canvas.convert("RGB"))
    n_frames = int(round(duration * fps))
    frames = np.broadcast_to(frame, (n_frames, *frame.shape))
    out = []
    for i, (label, (box, alpha)) in enumerate(zip(chosen, placed)):
        audio = performances[i].audio if i < n_sources else np.zeros(n_samples, np.float32)
        x = (box[0] + box[2]) / 2
        out.append(SceneSource(NAMES[label], label, _pan(audio, x, width), np.tile(box, (n_frames, 1)),
                               _click(alpha, duration / 2)))
    return Scene(seed, width, height, fps, sounds.sample_rate, frames, out[:n_sources], out[n_sources:])


# ------------------------------------------------------------------------------------- real clips

@dataclass
class Clip:
    """A real solo performance: its frames, true solo audio (mono, ``CLIP_RATE``) and class."""

    key: str  # video id and start: one excerpt
    name: str
    label: int
    frames: np.ndarray  # (n, 224, 224, 3) uint8, evenly spread over the audio
    audio: np.ndarray


CLIP_RATE = 11025


def _video_frames(path: Path) -> np.ndarray:
    with av.open(str(path)) as container:
        return np.stack([f.to_ndarray(format="rgb24") for f in container.decode(video=0)])


def _audio(path: Path) -> np.ndarray:
    audio, rate = sf.read(path, dtype="float32", always_2d=True)
    return resample(audio.mean(axis=1), rate, CLIP_RATE)


def read_clips(raw: Path, source: Source) -> list[Clip]:
    """The distinct solo excerpts of a clips source: My-Sound-of-Pixels visualisation folders
    (``A-id+B-id``: ``video1.mp4``/``gt1.wav`` and ``video2.mp4``/``gt2.wav``, ``meta.json``) or
    CLIPSep demo folders (``A-id+VGGSound-id``: ``av.mp4`` and ``gt.wav`` for the music solo)."""
    folders = sorted({path.parent for path in local_files(source, raw) if path.name in ("gt.wav", "meta.json")})
    clips: dict[str, Clip] = {}
    for folder in folders:
        parts = re.sub(r"_\d+$", "", folder.name).split("+")
        if (folder / "gt.wav").exists():
            members = [(parts[0], folder / "av.mp4", folder / "gt.wav", "")]
        else:
            meta = json.loads((folder / "meta.json").read_text())
            members = [(part, folder / f"video{i}.mp4", folder / f"gt{i}.wav", str(meta["sources"][i - 1]["start"]))
                       for i, part in enumerate(parts, 1)]
        for part, video, audio, start in members:
            name = source.class_of(f"/{part}")
            key = part.split("-", 1)[1] + "@" + start
            if name is None or key in clips or not video.exists() or not audio.exists():
                continue
            frames = _video_frames(video)
            if start:  # My-Sound-of-Pixels saved its 3 frames with the time and colour axes swapped
                frames = np.ascontiguousarray(frames.transpose(3, 1, 2, 0))
            clips[key] = Clip(key, name, NAMES.index(name) if name in NAMES else -1, frames, _audio(audio))
    return list(clips.values())


def clip_scene(seed: int, sounding: list[Clip], silent: list[Clip], fps: int = 8) -> Scene:
    """Real solos side by side (``sounding`` heard, ``silent`` seen only), each in a 224 px tile whose
    box is the tile; the click is the tile's centre. As long as the shortest clip."""
    members = sounding + silent
    n_samples = min(len(c.audio) for c in members)
    tile = members[0].frames.shape[1]
    width, height = tile * len(members), tile
    order = np.random.default_rng([EVAL_STREAM, 17, seed]).permutation(len(members))
    n_frames = int(n_samples / CLIP_RATE * fps)
    frames = np.empty((n_frames, height, width, 3), np.uint8)
    out = []
    for position, clip in zip(order, members):
        x0 = position * tile
        shown = np.minimum((np.arange(n_frames) + 0.5) / n_frames * len(clip.frames), len(clip.frames) - 1)
        frames[:, :, x0:x0 + tile] = clip.frames[shown.astype(int)]
        heard = clip in sounding
        audio = clip.audio[:n_samples] if heard else np.zeros(n_samples, np.float32)
        box = np.tile(np.array([x0, 0, x0 + tile, tile], np.float32), (n_frames, 1))
        out.append(SceneSource(clip.name, clip.label, _pan(audio, x0 + tile / 2, width), box,
                               (x0 + tile / 2, tile / 2, n_samples / CLIP_RATE / 2)))
    peak = np.abs(sum(s.stem for s in out)).max()
    for s in out:
        s.stem *= min(1.0, 0.9 / max(peak, 1e-9))
    return Scene(seed, width, height, fps, CLIP_RATE, frames, out[:len(sounding)], out[len(sounding):])


def clip_groups(clips: list[Clip], size: int, count: int, seed: int) -> list[list[Clip]]:
    """``count`` groups of ``size`` clips of distinct instruments (as far as the clips allow), each
    clip used about equally often."""
    rng = np.random.default_rng([EVAL_STREAM, 18, size, seed])
    uses = np.zeros(len(clips))
    groups: list[list[Clip]] = []
    for _ in range(count * 20):
        if len(groups) == count:
            break
        order = np.lexsort((rng.random(len(clips)), uses))
        group: list[Clip] = []
        for i in order:
            if clips[i].name not in {c.name for c in group}:
                group.append(clips[i])
                if len(group) == size:
                    break
        keys = sorted(c.key for c in group)
        if len(group) == size and keys not in [sorted(c.key for c in g) for g in groups]:
            groups.append(group)
            uses[[clips.index(c) for c in group]] += 1
        else:
            uses[int(order[0])] += 1
    return groups


def write_set(folder: Path, scenes: list[tuple[str, Scene]], about: dict) -> None:
    """Write each (name, scene) and the index ``scenes.json`` (with ``about``)."""
    names = []
    for name, scene in scenes:
        names.append(write_scene(scene, folder, name).name)
        print(folder.name, name, ", ".join(s.name for s in scene.sources),
              ("| silent: " + ", ".join(s.name for s in scene.silent)) if scene.silent else "", flush=True)
    (folder / "scenes.json").write_text(json.dumps({**about, "scenes": names}, indent=1))
