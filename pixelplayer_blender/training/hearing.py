"""How clearly the tagger usually hears each instrument: the level a clip's score is read against.

``audibility`` plays phrases of every training instrument in mixtures with one or two others, at
levels +-6 dB apart as training mixes them, and keeps the median of the tagger's score for it
(``core.audiotag.Heard``).  An instrument the tagger hardly hears even then (a median under
:data:`FLOOR`) keeps 0, "unknown": its missing score never makes a player count as silent.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

import numpy as np
import torch

from ..core.audiotag import Heard
from ..core.checkpoint import load_checkpoint, save_checkpoint

if TYPE_CHECKING:
    from .realsolo import Perform
FLOOR = 0.005  # a usual score under this is noise, not a level
log = logging.getLogger(__name__)


@torch.no_grad()
def audibility(heard: Heard, perform: Perform, labels: Sequence[int], rate: int, rng: np.random.Generator,
               mixtures: int = 48, samples: int = 65536) -> dict[int, float]:
    """Per label of ``labels``: the median score ``heard`` gives it in ``mixtures`` mixtures of one of its
    phrases with one or two phrases of other labels (0 under :data:`FLOOR`)."""
    levels = {}
    for label in labels:
        others = [o for o in labels if o != label]
        mixes = []
        for _ in range(mixtures):
            players = [label, *rng.choice(others, int(rng.integers(1, 3)), replace=False)]
            gains = 10 ** (rng.uniform(-6, 6, len(players)) / 20)
            mixes.append(sum(g * perform(int(p), rng, samples)[:samples] for g, p in zip(gains, players)))
        scores = heard(torch.from_numpy(np.stack(mixes).astype(np.float32)), rate)[:, label]
        median = float(scores.median())
        levels[label] = median if median >= FLOOR else 0.0
        log.info("%s: usually heard at %.4f", label, median)
    return levels


def hear_checkpoint(checkpoint: Path, raw: Path, out: Path, mixtures: int = 48, seed: int = 0) -> dict[str, float]:
    """Write ``checkpoint`` with its tagger's usual level of each instrument that the training recordings
    (``raw``: the extracted sources of ``sources.toml``) play."""
    from .realsolo import train_phrases  # needs the recordings' decoders, only here

    model = load_checkpoint(checkpoint)
    heard, names = model.net.heard, model.net.config.labels
    if heard is None:
        raise SystemExit(f"{checkpoint} has no tagger")
    perform, playable, rate = train_phrases(raw, len(names))
    levels = audibility(heard, perform, playable, rate, np.random.default_rng(seed), mixtures)
    heard.audible.zero_()
    for label, level in levels.items():
        heard.audible[label] = level
    found = {names[label]: level for label, level in levels.items()}
    save_checkpoint(out, model.net, {**model.metadata, "audible": found})
    return found
