"""Clicks to stems: queries, masks on the model grid, and their full-band application.

A query (a point or a rectangle in source pixels, at a time) selects a K-dim pixel
feature.  In every window the query follows its instrument: the best-matching pixel
of that window supplies the feature, and a poor match (instrument gone) fades the
mask out.  Masks are cross-faded across windows, shared out among simultaneous
queries (never more than the whole mixture, the most to the strongest claim),
mapped onto the native-rate STFT of the original (all channels, full band) and
inverted.  The residual is the original minus all sources, so sources + residual
reproduce the original exactly.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .analysis import Analysis
from .checkpoint import LoadedModel
from .errors import PixelPlayerError
from .nets import share
from .spectral import log_row_of_fraction

# Match strength (see ``follow``) below LOW means "instrument absent" (mask 0), above HIGH
# present (mask 1), linear in between.
MATCH_LOW, MATCH_HIGH = 0.3, 0.7
BLOCK_FRAMES = 128  # native STFT frames per block when applying masks (cache-sized)


@dataclass(frozen=True)
class Point:
    """A click at source pixel (x, y), origin top-left, at ``time`` seconds (default: the first frame)."""

    x: float
    y: float
    time: float | None = None

    def cells(self, width: int, height: int, grid: tuple[int, int]) -> tuple[slice, slice]:
        if not (0 <= self.x < width and 0 <= self.y < height):
            raise PixelPlayerError(f"point ({self.x:g}, {self.y:g}) is outside the {width}x{height} frame")
        h, w = grid
        row, col = int(self.y * h / height), int(self.x * w / width)
        # A small neighbourhood: the clicked cell and its eight neighbours.
        return slice(max(row - 1, 0), row + 2), slice(max(col - 1, 0), col + 2)

    def describe(self) -> dict:
        return {"point": [self.x, self.y], "time": self.time}


@dataclass(frozen=True)
class Region:
    """A rectangle ``[x0, x1) x [y0, y1)`` in source pixels, at ``time`` seconds."""

    x0: float
    y0: float
    x1: float
    y1: float
    time: float | None = None

    def cells(self, width: int, height: int, grid: tuple[int, int]) -> tuple[slice, slice]:
        if not (0 <= self.x0 < self.x1 <= width and 0 <= self.y0 < self.y1 <= height):
            raise PixelPlayerError(f"region ({self.x0:g}, {self.y0:g}, {self.x1:g}, {self.y1:g}) is empty or "
                                   f"outside the {width}x{height} frame")
        h, w = grid
        rows = slice(int(self.y0 * h / height), max(int(np.ceil(self.y1 * h / height)), int(self.y0 * h / height) + 1))
        cols = slice(int(self.x0 * w / width), max(int(np.ceil(self.x1 * w / width)), int(self.x0 * w / width) + 1))
        return rows, cols

    def describe(self) -> dict:
        return {"region": [self.x0, self.y0, self.x1, self.y1], "time": self.time}


Query = Point | Region


@dataclass
class Stem:
    audio: np.ndarray  # (channels, samples) float32 at the source's rate
    label: str
    query: Query
    presence: np.ndarray  # (windows,) how strongly the instrument was found in each window


@dataclass
class Separation:
    sources: list[Stem]
    residual: np.ndarray
    sample_rate: int
    trained: bool


def check_queries(analysis: Analysis, queries: list[Query]) -> None:
    """Raise for a query outside the frame, before any work is done."""
    video = analysis.info.video
    grid = analysis.features.shape[-2:]
    for q in queries:
        q.cells(video.width, video.height, grid)


def query_feature(analysis: Analysis, query: Query) -> np.ndarray:
    """The K-dim feature a query selects: mean over its cells in the frame analysed nearest its time."""
    video = analysis.info.video
    fmap = analysis.feature_map(query.time or 0.0)
    rows, cols = query.cells(video.width, video.height, fmap.shape[-2:])
    return fmap[:, rows, cols].reshape(fmap.shape[0], -1).mean(axis=1)


def follow(analysis: Analysis, feature: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    """Per window: the matched pixel's feature ``(W, K)`` and the match strength ``(W,)`` in [0, 1].

    The match is the pixel, in any of the window's frames, nearest the query in feature
    space; the synthesizer then gets that pixel's feature max-pooled over the window's
    frames, as in training.  The strength compares the match distance with the query's
    distance from the window's background (its median pixel): 1 for an exact match,
    0 when the best pixel is no closer than background.
    """
    frames = torch.from_numpy(analysis.features).float()  # (W, V, K, h, w)
    w, v, k, h, wd = frames.shape
    pixels = frames.permute(0, 2, 1, 3, 4).reshape(w, k, v * h * wd)
    q = torch.from_numpy(feature)[None, :, None]
    best, idx = (pixels - q).norm(dim=1).min(1)
    spread = (pixels.median(2).values - q[..., 0]).norm(dim=1).clamp_min(1e-6)
    pooled = frames.amax(1).flatten(2)  # (W, K, h*w)
    matched = pooled.gather(2, (idx % (h * wd))[:, None, None].expand(-1, k, 1))[..., 0]
    presence = ((1 - best / spread - MATCH_LOW) / (MATCH_HIGH - MATCH_LOW)).clamp(0, 1)
    return matched, presence


def _fade(frames: int) -> torch.Tensor:
    """Cross-fade weights: sin^2 offset by half a frame, summing to one at 50 % overlap."""
    return torch.sin(torch.pi * (torch.arange(frames) + 0.5) / frames) ** 2


@torch.no_grad()
def model_masks(model: LoadedModel, analysis: Analysis, matched: list[torch.Tensor],
                presence: list[torch.Tensor]) -> torch.Tensor:
    """Cross-faded masks ``(Q, F, model_frames)``, shared (see ``share``): at most one per bin in all."""
    config, net = analysis.config, model.net
    hop, t = analysis.window_hop, config.frames
    fade = _fade(t)
    out = torch.zeros(len(matched), config.log_bins, analysis.model_frames)
    weight = torch.zeros(analysis.model_frames)
    feats = torch.stack(matched, 1)  # (W, Q, K)
    gains = torch.stack(presence, 1)  # (W, Q)
    for w in range(analysis.windows):
        comps = torch.from_numpy(analysis.components[w]).float().view(config.k, -1)
        logits = ((feats[w] * net.synth.scale) @ comps + net.synth.bias).view(-1, config.log_bins, t)
        out[:, :, w * hop: w * hop + t] += torch.sigmoid(logits) * (gains[w][:, None, None] * fade)
        weight[w * hop: w * hop + t] += fade
    out /= weight
    return share(out)


class NativeGrid:
    """Linear interpolation of model-grid masks onto the native STFT grid of one clip.

    Frequency: each native bin reads the log-frequency rows around it; bins above the
    model's Nyquist take the mean mask of the model's top octave, frame by frame.
    Time: each native frame reads the model frames around its centre.
    """

    def __init__(self, analysis: Analysis) -> None:
        config, stft = analysis.config, analysis.stft
        nyquist = config.sample_rate / 2
        freqs = np.arange(stft.bins) * stft.sample_rate / stft.n_fft
        rows = log_row_of_fraction(np.minimum(freqs / nyquist, 1.0), config.log_bins)
        lo = np.minimum(np.floor(rows).astype(int), config.log_bins - 2)
        frac = rows - lo
        above = freqs > nyquist
        lo[above], frac[above] = config.log_bins, 0.0  # row F is the top-octave mean
        self.f_lo = torch.from_numpy(lo)
        self.f_frac = torch.from_numpy(frac.astype(np.float32))
        top = int(np.ceil(log_row_of_fraction(0.5, config.log_bins)))
        self.top = slice(top, config.log_bins)
        self.model_frames = analysis.model_frames
        self.frames_per_native = stft.hop / stft.sample_rate * config.sample_rate / config.hop

    def __call__(self, masks: torch.Tensor, first: int, last: int) -> torch.Tensor:
        """``(Q, F, model_frames)`` -> ``(Q, last - first, native bins)`` for native frames [first, last)."""
        pos = torch.arange(first, last, dtype=torch.float64) * self.frames_per_native
        t_lo = pos.floor().long().clamp(max=self.model_frames - 2)
        t_frac = (pos - t_lo).clamp(0, 1).float()
        a, b = masks[:, :, t_lo], masks[:, :, t_lo + 1]
        timed = torch.lerp(a, b, t_frac)  # (Q, F, n)
        timed = torch.cat([timed, timed[:, self.top].mean(1, keepdim=True)], 1).transpose(1, 2)  # (Q, n, F+1)
        hi = (self.f_lo + 1).clamp(max=timed.shape[2] - 1)
        return torch.lerp(timed[:, :, self.f_lo], timed[:, :, hi], self.f_frac)


def apply_masks(analysis: Analysis, masks: torch.Tensor) -> list[np.ndarray]:
    """Sources at the native rate, channels and length, from model-grid masks."""
    stft = analysis.stft
    channels, samples = analysis.audio().shape
    frames = stft.frames(samples)
    grid = NativeGrid(analysis)
    outs = torch.zeros(masks.shape[0], channels, (frames + 1) * stft.hop)
    for first in range(0, frames, BLOCK_FRAMES):
        last = min(first + BLOCK_FRAMES, frames)
        spectrum = analysis.spectrum(first, last)
        native = grid(masks, first, last)
        for q in range(masks.shape[0]):
            stft.overlap_add(spectrum * native[q], outs[q], first)
    return [o[:, stft.hop: stft.hop + samples].numpy() for o in outs]


def label_of(model: LoadedModel, feature: torch.Tensor, index: int) -> str:
    """The instrument name from the label head, else a numbered placeholder."""
    logits = model.net.label_logits(feature[None])
    if logits is not None:
        return model.net.config.labels[int(logits.argmax())]
    suffix = "" if model.trained else " (untrained model)"
    return f"source {index + 1}{suffix}"


@torch.no_grad()
def isolate(model: LoadedModel, analysis: Analysis, queries: list[Query]) -> Separation:
    """Separate one source per query, plus the residual; sources + residual == original."""
    if not queries:
        raise PixelPlayerError("no query given: click a point or drag a region")
    check_queries(analysis, queries)
    followed = [follow(analysis, query_feature(analysis, q)) for q in queries]
    matched = [m for m, _ in followed]
    presence = [p for _, p in followed]
    masks = model_masks(model, analysis, matched, presence)
    audio = analysis.audio()
    sources = apply_masks(analysis, masks)
    residual = audio.copy()
    for source in sources:
        residual -= source
    stems = []
    for i, (q, m, p, src) in enumerate(zip(queries, matched, presence, sources)):
        pooled = (m * p[:, None]).sum(0) / p.sum().clamp_min(1e-6)
        stems.append(Stem(src, label_of(model, pooled, i), q, p.numpy()))
    return Separation(stems, residual, analysis.info.audio.sample_rate, model.trained)
