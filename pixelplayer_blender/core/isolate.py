"""Isolation: from queries to separated sources, through masks on the model grid applied full band.

A query (:mod:`.query`: a point or a rectangle in source pixels, at a time) selects a K-dim pixel
feature.  In every window the query follows its instrument: the best-matching pixel
of that window supplies the feature, and a poor match (instrument gone) fades the
mask out.  Masks are cross-faded across windows, shared out among simultaneous
queries (never more than the whole mixture, the most to the strongest claim),
mapped onto the native-rate STFT of the original (all channels, full band) and
inverted.  With a tagger in the model, a query whose pixel looks like an instrument
the clip's sound does not hold fades too (a visible but silent player stays
silent), and the name is what the picture (the label head and, with eyes, ImageNet's
classifier) says among what is heard.  A query the picture names surely follows its
name's sound, as a named one does; where it is comes from the click.  With a refit in the
model, two or more queries' features are refitted to each window's sound before their masks.
The residual is the original minus all sources, so sources + residual reproduce the original
exactly.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from . import eartune, eyes
from .analysis import Analysis
from .checkpoint import LoadedModel
from .clip import ClipAudio
from .errors import PixelPlayerError
from .nets import Looks, half, share
from .progress import Cancel, Progress, check, never, part, quiet
from .query import Query

UNSURE = 0.3  # label-head probability under which a source is called "instrument" rather than a wrong name
# The same, once weighted by what is heard: spread over the instruments heard, a right name is often less likely
# than 0.3 (0.15: the real MUSIC dev sets' names right rise from 31 and 53 % to 43 and 67 %; emoji tuning: 98 %).
UNSURE_HEARD = 0.15
# Match strength (see ``follow``) below LOW means "instrument absent" (mask 0), above HIGH
# present (mask 1), linear in between.
MATCH_LOW, MATCH_HIGH = 0.3, 0.7


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


def query_feature(analysis: Analysis, query: Query) -> np.ndarray:
    """The K-dim feature a query selects: mean over its cells in the frame analysed nearest its time."""
    video = analysis.info.video
    fmap = analysis.feature_map(query.time or 0.0)
    rows, cols = query.cells(video.width, video.height, fmap.shape[-2:])
    return fmap[:, rows, cols].reshape(fmap.shape[0], -1).mean(axis=1)


def query_looks(analysis: Analysis, query: Query) -> Looks | None:
    """What the eyes take the query's cells of each window's middle frame for ``(W, labels)`` and how far they
    are trusted there ``(W, 1)`` (:func:`.eyes.at`; None: no eyes)."""
    if not analysis.seen.shape[1]:
        return None
    video = analysis.info.video
    rows, cols = query.cells(video.width, video.height, analysis.seen.shape[-2:])
    return eyes.at(torch.from_numpy(analysis.seen[:, :, rows, cols]).float().flatten(2).mean(-1))


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
                presence: list[torch.Tensor], cancel: Cancel = never) -> torch.Tensor:
    """Cross-faded masks ``(Q, F, model_frames)``: the model's masks shared (see ``share``: at most one per bin
    in all), as in training and tuning by ear, then each scaled by its presence; what a fade takes goes to the
    residual, not to the other queries.  With a refit in the model, two or more queries' features are first
    refitted to each window (``nets.Refit``)."""
    config, net = analysis.config, model.net
    hop, t = analysis.window_hop, config.frames
    fade = _fade(t)
    out = torch.zeros(len(matched), config.log_bins, analysis.model_frames)
    gain = torch.zeros(len(matched), analysis.model_frames)
    weight = torch.zeros(analysis.model_frames)
    feats = torch.stack(matched, 1)  # (W, Q, K)
    gains = torch.stack(presence, 1)  # (W, Q)
    refit = net.refit if len(matched) > 1 else None
    for w in range(analysis.windows):
        check(cancel)
        comps = torch.from_numpy(analysis.components[w]).float()[None]
        features = feats[w][None]
        if refit is not None:
            mixture = torch.from_numpy(analysis.mixture[w]).float()[None]
            features = refit(net.synth, features, half(comps), mixture)
        logits = net.synth(features, comps)[0]
        out[:, :, w * hop: w * hop + t] += torch.sigmoid(logits) * fade
        gain[:, w * hop: w * hop + t] += gains[w][:, None] * fade
        weight[w * hop: w * hop + t] += fade
    out /= weight
    masks = share(out)
    masks *= (gain / weight)[:, None, :]
    return masks


def label_of(model: LoadedModel, feature: torch.Tensor, heard: torch.Tensor, looks: Looks | None,
             index: int) -> str:
    """The instrument name ("instrument" when unsure), else a numbered placeholder.  What the picture says
    ``feature`` is (with what the eyes see there, ``looks``: ``PixelPlayerNet.label_probabilities``), weighted
    by what the ``heard`` scores say when the model has a tagger (``Heard.name_weights``)."""
    said = model.net.label_probabilities(feature[None], None if looks is None else tuple(x[None] for x in looks))
    if said is not None:
        chance = said[0] if model.net.heard is None else said[0] * model.net.heard.name_weights(heard)
        chance = chance / chance.sum().clamp_min(1e-12)
        unsure = UNSURE if model.net.heard is None else UNSURE_HEARD
        return model.net.config.labels[int(chance.argmax())] if chance.max() >= unsure else "instrument"
    suffix = "" if model.trained else " (untrained model)"
    return f"source {index + 1}{suffix}"


def prototypes(model: LoadedModel) -> dict[str, list[float]]:
    """The features a model keeps for the instruments it knows by name (their means over training, or tuned to
    their sound: ``training/nametune.py``), by lower-case name."""
    return {key.lower(): value for key, value in model.metadata.get("prototypes", {}).items()}


def prototype(model: LoadedModel, name: str) -> torch.Tensor:
    """The feature a model keeps for the instrument called ``name``, for named queries."""
    known = prototypes(model)
    if name.lower() not in known:
        names = ", ".join(sorted(known)) or "none: this model cannot follow names"
        raise PixelPlayerError(f"the model knows no instrument called {name!r}; it knows: {names}")
    return torch.tensor(known[name.lower()], dtype=torch.float32)


def named_features(model: LoadedModel, analysis: Analysis, clip: ClipAudio, names: list[str],
                   tuned: dict | None = None, progress: Progress = quiet, cancel: Cancel = never) -> list[torch.Tensor]:
    """The ``(K,)`` query of each named pick: its name's prototype tuned to the clip by ear
    (:func:`.eartune.tune`, all names together), once per set of names, which ``tuned`` keeps.  Without
    ``tuned`` (a lone pick: nothing to be told apart from) the prototypes."""
    labels = {label.lower(): label for label in model.net.config.labels}
    key = tuple(labels.get(name.lower(), name) for name in names)
    if not key:
        return []
    if tuned is None:
        return [prototype(model, name) for name in key]
    if key not in tuned:
        start = torch.stack([prototype(model, name) for name in key])
        tuned[key] = list(eartune.tune(model, analysis, clip, list(key), start, progress, cancel))
    return tuned[key]


def _mean(values: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """``(W, ...)`` values averaged over windows with ``(W,)`` weights."""
    return (values * weights[:, None]).sum(0) / weights.sum().clamp_min(1e-6)


def check_queries(analysis: Analysis, model: LoadedModel, queries: list[Query]) -> None:
    """Raise for a query outside the frame or with a name the model does not know, before any work is done."""
    video = analysis.info.video
    grid = analysis.features.shape[-2:]
    for q in queries:
        q.cells(video.width, video.height, grid)
        if q.name is not None:
            prototype(model, q.name)


@torch.no_grad()
def isolate(model: LoadedModel, analysis: Analysis, clip: ClipAudio, queries: list[Query],
            tuned: dict | None = None, progress: Progress | None = None, cancel: Cancel | None = None) -> Separation:
    """Separate one source per query from ``clip``, plus the residual; sources + residual == original.
    ``tuned`` keeps named picks' features tuned by ear (:func:`named_features`) for the next call; ``cancel``
    is polled between steps."""
    progress, cancel = progress or quiet, cancel or never
    if not queries:
        raise PixelPlayerError("no query given: click a point or drag a region")
    check_queries(analysis, model, queries)
    followed = [follow(analysis, query_feature(analysis, q)) for q in queries]
    looks = [query_looks(analysis, q) for q in queries]
    heard = torch.from_numpy(analysis.heard).float()  # (W, labels)
    labels = [q.name or label_of(model, _mean(m, p), _mean(heard, p),
                                  None if s is None else tuple(_mean(x, p) for x in s), i)
              for i, (q, (m, p), s) in enumerate(zip(queries, followed, looks))]
    # Where an instrument is comes from the click; what it sounds like from its name: given, else the picture's
    # when the model keeps that name's prototype.
    known = prototypes(model)
    follows = [q.name or (label if label.lower() in known else None) for q, label in zip(queries, labels)]
    named = iter(named_features(model, analysis, clip, [n for n in follows if n is not None],
                                tuned if len(queries) > 1 else None, part(progress, 0.0, 0.5), cancel))
    matched = [m if n is None else next(named).expand_as(m) for n, (m, _) in zip(follows, followed)]
    clip_heard = heard.mean(0)  # a player silent in the whole clip stays silent; one that stops is followed
    presence = [p if q.name is not None else p * model.net.agreement(m, clip_heard, s)
                for q, (m, p), s in zip(queries, followed, looks)]
    progress(0.5, "masks")
    masks = model_masks(model, analysis, matched, presence, cancel)
    sources, residual = clip.separate(masks, analysis.config, part(progress, 0.6, 1.0), cancel)
    stems = [Stem(src, label, q, p.numpy()) for src, label, q, p in zip(sources, labels, queries, presence)]
    progress(1.0, "done")
    return Separation(stems, residual, clip.sample_rate, model.trained)
