"""Whole-clip analysis: every network forward pass a clip needs, done once and cached.

The clip is cut into windows of ``config.window_samples`` model-rate samples with
50 % overlap.  Per window we keep the K audio components (float16), the per-pixel
features of ``config.video_frames`` frames, their sound maps, the mixture's
magnitudes at half resolution (for the refit of simultaneous clicks), with a
tagger in the model how clearly each named instrument is heard and, with eyes,
which named instruments the window's middle frame shows where.  Clicks afterwards
need no network but the synthesizer and the refit: see :mod:`.isolate`, which
applies masks to the clip's own sound (:class:`.clip.ClipAudio`, handed out beside
the analysis).
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
import torch

from . import cache, eyes, media
from .checkpoint import LoadedModel
from .clip import ClipAudio, read_at, scratch_file
from .config import ModelConfig
from .errors import PixelPlayerError
from .nets import half
from .progress import Cancel, Progress, check, never, quiet
from .spectral import FrontEnd

# 2: entries carry a manifest (core.cache); 3: and what is heard per window; 4: and seen; 5: levelled; 6: and the mixture
CACHE_VERSION = 6
MIN_SECONDS = 1.0
BATCH = 4  # windows per forward pass of the audio network
BATCH_FRAMES = 16  # frames per forward pass of the video network
# Windows per step of the video pass (their frames, features and sound maps are in memory together).
# Equal to BATCH_FRAMES, so a step is a whole number of batches and batches never depend on the clip's length.
VIDEO_CHUNK = BATCH_FRAMES
POOLED = (32, 16)  # (freq, time) grid of the sound-map energy estimate

@dataclass(frozen=True)
class Analysis:
    """The cached result of analysing one clip with one model: network outputs only, never changed."""

    info: media.MediaInfo
    config: ModelConfig
    key: str
    trained: bool
    model_samples: int  # length of the clip at the model rate
    frame_times: np.ndarray  # (W, V) seconds of the frames each window saw
    components: "ComponentStore | np.ndarray"  # (W, K, F, T) float16 audio components, indexed by window
    features: np.ndarray  # (W, V, K, h, w) float16 per-pixel features
    sound_maps: np.ndarray  # (W, V, h, w) float16 fraction of the mixture each pixel claims
    heard: np.ndarray  # (W, labels) float16 how clearly each named instrument is heard (no labels: no tagger)
    seen: np.ndarray  # (W, labels, h, w) float16 each name's probability per cell of the middle frame (no eyes: 0)
    mixture: np.ndarray  # (W, F/2, T/2) float16 the window's magnitudes at half resolution (``nets.half``)
    cached: bool = False  # read back from the disk cache (no network pass was needed)

    @property
    def windows(self) -> int:
        return self.components.shape[0]

    @property
    def window_hop(self) -> int:
        """Window hop in model frames."""
        return self.config.frames // 2

    @property
    def model_frames(self) -> int:
        return (self.windows - 1) * self.window_hop + self.config.frames

    def nearest_frame(self, t: float) -> tuple[int, int]:
        """(window, frame) indices of the analysed frame closest to time ``t``."""
        flat = int(np.abs(self.frame_times - t).argmin())
        return divmod(flat, self.frame_times.shape[1])

    def sound_map(self, t: float) -> np.ndarray:
        """``(h, w)`` float32 map in [0, 1] of where the sound comes from at time ``t``."""
        return np.asarray(self.sound_maps[self.nearest_frame(t)], np.float32)

    def feature_map(self, t: float) -> np.ndarray:
        """``(K, h, w)`` per-pixel features of the frame analysed closest to time ``t``."""
        return self.features[self.nearest_frame(t)].astype(np.float32)


def validate(info: media.MediaInfo) -> None:
    if info.audio is None:
        raise PixelPlayerError(f"{info.path} has no audio stream: nothing to separate")
    if info.video is None:
        raise PixelPlayerError(f"{info.path} has no video stream: PixelPlayer needs the picture to select sounds")
    if info.duration < MIN_SECONDS:
        raise PixelPlayerError(f"{info.path} is {info.duration:.2f} s long; at least {MIN_SECONDS:.0f} s is needed")


def file_digest(path: Path) -> str:
    h = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as f:
        while chunk := f.read(1 << 22):
            h.update(chunk)
    return h.hexdigest()


def cache_key(path: Path, model: LoadedModel) -> str:
    settings = json.dumps({"v": CACHE_VERSION, "model": model.model_id, "config": model.net.config.to_dict()},
                          sort_keys=True)
    return hashlib.blake2b(f"{file_digest(path)}:{settings}".encode(), digest_size=16).hexdigest()


def plan_windows(model_samples: int, config: ModelConfig) -> np.ndarray:
    """Start samples (model rate) of 50 %-overlapping windows covering the clip."""
    hop = config.window_samples // 2
    count = max(1, -(-(model_samples - config.window_samples) // hop) + 1)
    return np.arange(count) * hop


def plan_frames(starts: np.ndarray, config: ModelConfig, info: media.MediaInfo) -> np.ndarray:
    """Times (s) of the frames each window's video net sees: evenly inside the window."""
    offsets = (np.arange(config.video_frames) + 0.5) * config.window_samples / config.video_frames
    times = (starts[:, None] + offsets[None]) / config.sample_rate
    return np.clip(times, 0.0, max(info.duration - 1.0 / info.video.fps, 0.0))


def _read_frames(path: Path, times: np.ndarray, size: int, stop: threading.Event, store: BinaryIO,
                 looks: tuple[tuple[int, int], BinaryIO] | None = None) -> None:
    """Decode the ``size`` x ``size`` RGB frame at each of ``times`` (``(W, V)``) into ``store``, frame ``i``
    at ``i`` frames in: on disk, so a long clip's frames never sit in memory.  With ``looks`` (a
    ``(width, height)`` and a store) each window's middle frame goes there too, at that size, for the eyes."""
    flat = times.ravel()
    v = times.shape[1]
    order = np.argsort(flat, kind="stable")
    with media.FrameReader(path, (size, size), sampled=True) as reader:
        for i in order:
            if stop.is_set():
                break
            store.seek(int(i) * size * size * 3)
            store.write(reader.frame_at(float(flat[i])).data)
            if looks is not None and i % v == v // 2:
                (w, h), look_store = looks
                look_store.seek(int(i // v) * w * h * 3)
                look_store.write(reader.frame_at(float(flat[i]), (w, h)).data)


class ComponentStore:
    """The ``(W, K, F, T)`` float16 components of an analysis: an ``.npy`` file read a window at a time.

    Reads go through the page cache rather than a memory map, so the components of a
    long clip never count against the process's memory.
    """

    def __init__(self, path: Path) -> None:
        with open(path, "rb") as f:
            version = np.lib.format.read_magic(f)
            self.shape, _, self.dtype = (np.lib.format.read_array_header_1_0(f) if version == (1, 0)
                                         else np.lib.format.read_array_header_2_0(f))
            self.offset = f.tell()
        self.path = path
        self.window_bytes = int(np.prod(self.shape[1:])) * self.dtype.itemsize

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, window: int) -> np.ndarray:
        buf = bytearray(self.window_bytes)
        with open(self.path, "rb", buffering=0) as f:
            f.seek(self.offset + window * self.window_bytes)
            f.readinto(buf)
        return np.frombuffer(buf, self.dtype).reshape(self.shape[1:])

    @staticmethod
    def header(f, shape: tuple[int, ...]) -> None:
        """Start an ``.npy`` file whose float16 data the caller then appends window by window."""
        np.lib.format.write_array_header_1_0(f, {"descr": np.dtype(np.float16).str, "fortran_order": False,
                                                 "shape": shape})


ARRAYS = ("features", "sound_maps", "heard", "seen", "mixture", "frame_times")


def _load(directory: Path, info: media.MediaInfo, key: str) -> Analysis | None:
    """The cached entry ``directory`` if there is one and it passes its check; a failing one is removed."""
    if not os.path.lexists(directory):
        return None
    if cache.problem(directory) is None:
        try:
            meta = json.loads((directory / "meta.json").read_text())
            arrays = {n: np.load(directory / f"{n}.npy") for n in ARRAYS}
            return Analysis(info, ModelConfig.from_dict(meta["config"]), key, meta["trained"], meta["model_samples"],
                            components=ComponentStore(directory / "components.npy"), cached=True, **arrays)
        except (OSError, ValueError, KeyError, TypeError):
            pass
    cache.discard(directory)
    return None


def _sound_maps(net, features: torch.Tensor, comps: torch.Tensor, mix: torch.Tensor, heard: torch.Tensor,
                seen: torch.Tensor) -> torch.Tensor:
    """Fraction of each window's mixture energy that each pixel's mask claims, where what the pixel looks
    like is heard in the clip (``PixelPlayerNet.agreement``; a silent player's pixels claim nothing).

    ``features`` (W, V, K, h, w), pooled ``comps`` (W, K, P), ``mix`` (W, P), the clip's ``heard``
    scores (labels,) and what the eyes see (W, labels, h', w'; no labels: no eyes) -> (W, V, h, w).
    """
    w, v, k, h, wd = features.shape
    pixels = features.permute(0, 1, 3, 4, 2).reshape(w, v * h * wd, k)
    masks = torch.sigmoid(net.synth(pixels, comps))
    energy = (masks * mix[:, None]).sum(-1) / mix.sum(-1, keepdim=True).clamp_min(1e-8)
    looks = None
    if seen.shape[1]:  # the eyes' cells stretched over the video net's grid, the same for the window's frames
        grid = torch.nn.functional.interpolate(seen.float(), (h, wd), mode="bilinear", align_corners=False)
        looks = (grid.permute(0, 2, 3, 1)[:, None].expand(w, v, h, wd, -1).reshape(w, v * h * wd, -1),
                 eyes.trust(seen.float())[:, None, None])
    return (energy * net.agreement(pixels, heard, looks)).view(w, v, h, wd)


def analyze(model: LoadedModel, path: str | Path, cache_dir: Path, progress: Progress | None = None,
            cancel: Cancel | None = None) -> tuple[Analysis, ClipAudio]:
    """Analyse a clip (or load its cached analysis): audio components, pixel features, sound maps.

    Also returns the clip's sound for isolation: already decoded and transformed after a fresh
    analysis, decoded on first use after a cached one.
    """
    progress, cancel = progress or quiet, cancel or never
    path = Path(path).resolve()
    info = media.probe(path)
    validate(info)
    progress(0.0, "hashing")
    key = cache_key(path, model)
    cache.sweep(cache_dir)
    cached = _load(cache_dir / key, info, key)
    if cached is not None:
        progress(1.0, "cached")
        return cached, ClipAudio(path, info.audio.sample_rate, cached.config, cache_dir)

    tmp = cache_dir / f"{key}.tmp{os.getpid()}"
    try:
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
    except OSError as e:
        raise PixelPlayerError(f"cannot write the analysis cache in {cache_dir}: {e.strerror or e}") from None
    try:
        return _analyze(model, info, key, tmp, ClipAudio(path, info.audio.sample_rate, model.net.config, cache_dir),
                        progress, cancel)
    except OSError as e:  # decoding errors arrive as PixelPlayerError: this is the cache failing to write
        raise PixelPlayerError(f"cannot write the analysis cache in {cache_dir}: {e.strerror or e}") from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _model_rate(clip: ClipAudio, info: media.MediaInfo, config: ModelConfig, progress: Progress,
                cancel: Cancel) -> np.ndarray:
    """Decode the clip once: its native sound into ``clip``'s scratch file, and, resampled on the fly,
    the mono model-rate signal the audio network hears (the only whole-clip array kept in memory)."""
    rate = config.sample_rate
    resampler = media.Resampler(info.audio.sample_rate, info.audio.layout, rate, mono=True)
    mono = media.Growing(1, int(info.duration * rate) + rate)
    expected = max(info.duration * info.audio.sample_rate, 1.0)
    decoded = 0
    for block in clip.decode():
        check(cancel)
        for out in resampler.push(block):
            mono.append(out)
        decoded += block.shape[1]
        progress(0.01 + 0.04 * min(decoded / expected, 1.0), "decoding audio")
    for out in resampler.push(None):
        mono.append(out)
    return mono.array()[0]


def _window(mono: np.ndarray, start: int, samples: int) -> np.ndarray:
    """``samples`` of ``mono`` from ``start``, zero-padded past its end."""
    if start + samples <= mono.size:
        return mono[start: start + samples]
    out = np.zeros(samples, np.float32)
    out[: mono.size - start] = mono[start:]
    return out


def _analyze(model: LoadedModel, info: media.MediaInfo, key: str, tmp: Path, clip: ClipAudio, progress: Progress,
             cancel: Cancel) -> tuple[Analysis, ClipAudio]:
    """A fresh analysis, written to ``tmp`` and then moved into the cache under ``key``."""
    net, config = model.net, model.net.config
    device = next(net.parameters()).device
    progress(0.01, "decoding audio")
    mono = _model_rate(clip, info, config, progress, cancel)
    starts = plan_windows(mono.size, config)
    frame_times = plan_frames(starts, config, info)
    look_size = eyes.frame_size(info.video.width, info.video.height)

    stop = threading.Event()
    with scratch_file(tmp) as frames, scratch_file(tmp) as looks, ThreadPoolExecutor(1) as pool:
        frames_job = pool.submit(_read_frames, info.path, frame_times, config.image_size, stop, frames,
                                 (look_size, looks) if net.eyes is not None else None)  # ends before its files
        try:
            with open(tmp / "components.npy", "wb") as store:
                pooled, mix, heard, mixture = _audio_pass(net, config, mono, starts, store, device, progress, cancel)
            progress(0.75, "reading frames")
            frames_job.result()
        finally:
            stop.set()
        seen = _eyes_pass(net, looks, len(starts), look_size, device, progress, cancel)
        progress(0.8, "video network")
        features, maps = _video_pass(net, config, frames, pooled, mix, heard.mean(0), seen, device, progress,
                                     cancel)
    progress(0.9, "caching")
    arrays = {"features": features, "sound_maps": maps, "heard": heard.half().numpy(), "seen": seen.half().numpy(),
              "mixture": mixture.numpy(), "frame_times": frame_times}
    for name, array in arrays.items():
        np.save(tmp / f"{name}.npy", array)
    meta = {"config": config.to_dict(), "trained": model.trained, "model_samples": int(mono.size)}
    (tmp / "meta.json").write_text(json.dumps(meta))
    cache.seal(tmp)
    final = tmp.with_name(key)
    cache.commit(tmp, final)
    result = Analysis(info, config, key, model.trained, int(mono.size), frame_times,
                      ComponentStore(final / "components.npy"), arrays["features"], arrays["sound_maps"],
                      arrays["heard"], arrays["seen"], arrays["mixture"])
    progress(0.95, "spectrum")
    clip.prepare()
    progress(1.0, "done")
    return result, clip


@torch.no_grad()
def _audio_pass(net, config: ModelConfig, mono: np.ndarray, starts: np.ndarray, store, device,
                progress: Progress, cancel: Cancel) -> tuple[torch.Tensor, ...]:
    """Components of every window, appended to ``store``; returns pooled components and mixture for the sound
    maps, what each window is heard to hold (``(W, labels)``; ``(W, 0)`` for a model without a tagger) and its
    magnitudes at half resolution (float16)."""
    front = FrontEnd(config)
    n = starts.size
    ComponentStore.header(store, (n, config.k, config.log_bins, config.frames))
    pooled = torch.empty(n, config.k, POOLED[0] * POOLED[1])
    mix = torch.empty(n, POOLED[0] * POOLED[1])
    heard = torch.empty(n, len(config.labels) if net.heard is not None else 0)
    mixture = torch.empty(n, config.log_bins // 2, config.frames // 2, dtype=torch.float16)
    for b in range(0, n, BATCH):
        check(cancel)
        idx = starts[b: b + BATCH]
        wav = torch.from_numpy(np.stack([_window(mono, s, config.window_samples) for s in idx])).to(device)
        mag = front.magnitude(wav)
        comps = net.components(front.network_input(mag * front.level_gain(wav)[:, None, None, None]))
        store.write(comps.half().cpu().numpy().tobytes())
        pooled[b: b + len(idx)] = torch.nn.functional.adaptive_avg_pool2d(comps, POOLED).flatten(2).float().cpu()
        mix[b: b + len(idx)] = torch.nn.functional.adaptive_avg_pool2d(mag, POOLED).flatten(1).cpu()
        mixture[b: b + len(idx)] = half(mag[:, 0]).half().cpu()
        if net.heard is not None:
            heard[b: b + len(idx)] = net.heard(wav, config.sample_rate).float().cpu()
        progress(0.05 + 0.7 * (b + len(idx)) / n, "audio network")
    return pooled, mix, heard, mixture


@torch.no_grad()
def _eyes_pass(net, looks: BinaryIO, windows: int, size: tuple[int, int], device, progress: Progress,
               cancel: Cancel) -> torch.Tensor:
    """What the eyes see in each window's middle frame (:func:`_read_frames` stored them):
    ``(W, labels, h, w)``; ``(W, 0, 1, 1)`` for a model without eyes."""
    if net.eyes is None:
        return torch.zeros(windows, 0, 1, 1)
    w, h = size
    out = []
    for b in range(0, windows, BATCH_FRAMES):
        check(cancel)
        n = min(BATCH_FRAMES, windows - b)
        data = read_at(looks, n * w * h * 3, b * w * h * 3)
        batch = torch.frombuffer(data, dtype=torch.uint8).view(n, h, w, 3).permute(0, 3, 1, 2)
        out.append(net.eyes(batch.to(device)).float().cpu())
        progress(0.75 + 0.05 * (b + n) / windows, "eyes")
    return torch.cat(out)


@torch.no_grad()
def _video_pass(net, config: ModelConfig, frames: BinaryIO, pooled: torch.Tensor, mix: torch.Tensor,
                heard: torch.Tensor, seen: torch.Tensor, device, progress: Progress, cancel: Cancel
                ) -> tuple[np.ndarray, np.ndarray]:
    """Per-pixel features ``(W, V, K, h, w)`` and sound maps ``(W, V, h, w)`` (float16) of the frames
    :func:`_read_frames` stored, read back a chunk of :data:`VIDEO_CHUNK` windows at a time; ``heard``:
    the clip's scores ``(labels,)``; ``seen``: the eyes' (:func:`_eyes_pass`)."""
    windows, v, size = len(pooled), config.video_frames, config.image_size
    features = maps = None
    for first in range(0, windows, VIDEO_CHUNK):
        check(cancel)
        last = min(first + VIDEO_CHUNK, windows)
        out = []
        for b in range(first * v, last * v, BATCH_FRAMES):  # batches of frames, as many as fit the chunk
            n = min(BATCH_FRAMES, last * v - b)
            data = read_at(frames, n * size * size * 3, b * size * size * 3)
            batch = torch.frombuffer(data, dtype=torch.uint8).view(n, size, size, 3).permute(0, 3, 1, 2)
            out.append(net.pixel_features(batch.to(device)).cpu())
        chunk = torch.cat(out).view(last - first, v, *out[0].shape[1:])
        # per chunk: masks are large
        chunk_maps = _sound_maps(net, chunk, pooled[first:last], mix[first:last], heard, seen[first:last])
        if features is None:
            features = np.empty((windows, *chunk.shape[1:]), np.float16)
            maps = np.empty((windows, *chunk_maps.shape[1:]), np.float16)
        features[first:last], maps[first:last] = chunk.half().numpy(), chunk_maps.half().numpy()
        progress(0.8 + 0.1 * last / windows, "video network")
    return features, maps
