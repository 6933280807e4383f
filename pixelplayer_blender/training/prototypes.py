"""Each instrument's prototype: the mean clicked feature of its training solos.

A named click (``--point X,Y=violin``, the Blender pick's instrument menu) uses the prototype of
that name as its query (``core/isolate.py: prototype``).  Training writes them into every
checkpoint it exports; ``name_checkpoint`` (``scripts/prototypes.py``) adds them to a checkpoint
trained without them.  An instrument with recordings but no photos (so no solos) gets one from
its sound instead (``sound_prototypes``): the feature whose mask best pulls its phrases out of
mixtures, fitted through the frozen audio side.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

import numpy as np
import torch

from ..core.checkpoint import load_checkpoint, save_checkpoint
from .cache import SoloCache
from .instruments import NAMES
from .mixing import Mixer
from .objective import MixAndSeparate, mask_target, weighted_bce

if TYPE_CHECKING:
    from .realsolo import Perform
log = logging.getLogger(__name__)


@torch.no_grad()
def instrument_prototypes(objective: MixAndSeparate, mixers: Sequence[Mixer], amp: bool = False,
                          per_label: int = 24) -> dict[str, list[float]]:
    """Each instrument's mean clicked feature over (up to ``per_label`` per cache of) its solos, their
    first cached frames clicked at the instrument's box centre (caches number instruments as ``NAMES``;
    those past the net's names are skipped); the net is left in evaluation mode."""
    net = objective.net
    net.eval()
    device = next(net.parameters()).device
    sums: dict[int, torch.Tensor] = {}
    counts: dict[int, int] = {}
    for mixer in mixers:
        for label in np.unique(mixer.labels[(mixer.labels >= 0) & (mixer.labels < len(net.config.labels))]):
            chosen = np.flatnonzero(mixer.labels == label)[:per_label]
            boxes = torch.as_tensor(mixer.boxes[chosen, 0], dtype=torch.float32, device=device)
            centres = torch.stack([boxes[:, 1] + boxes[:, 3], boxes[:, 0] + boxes[:, 2]], -1) / 2
            frames = mixer.frames[torch.as_tensor(chosen, device=device), :1].permute(0, 1, 4, 2, 3)
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
                clicked = objective.features(frames, centres)[1].float()
            sums[label] = sums.get(label, 0) + clicked.sum(0)
            counts[label] = counts.get(label, 0) + len(chosen)
    return {net.config.labels[i]: [round(x, 5) for x in (sums[i] / counts[i]).tolist()] for i in sorted(sums)}


def phrase_mixtures(objective: MixAndSeparate, perform: Perform, label: int, others: Sequence[int],
                    rng: np.random.Generator, count: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``count`` mixtures of a phrase of ``label`` with one of another of ``others``: the mixtures' and
    the phrases' log-frequency magnitudes ``(count, F, T)`` and the mixtures' components ``(count, K, F, T)``."""
    samples = objective.net.config.window_samples
    audio = torch.from_numpy(np.stack([[perform(label, rng, samples)[:samples],
                                        perform(int(rng.choice(others)), rng, samples)[:samples]]
                                       for _ in range(count)]).astype(np.float32))
    front = objective.front
    mags = front.magnitude(torch.cat([audio.sum(1), audio[:, 0]]))[:, 0]
    mix = mags[:count]
    return mix, mags[count:], objective.net.components(front.network_input(mix[:, None]))


def mask_loss(objective: MixAndSeparate, feature: torch.Tensor, mix: torch.Tensor, phrase: torch.Tensor,
              comps: torch.Tensor) -> torch.Tensor:
    """The training objective's loss for one query ``feature`` ``(K,)``: the log-magnitude-weighted BCE of
    its mask against the phrase's ratio mask in each mixture."""
    logits = objective.net.synth(feature.expand(len(mix), 1, -1), comps).float()
    return weighted_bce(logits, *mask_target(mix, phrase[:, None]))


def sound_prototypes(objective: MixAndSeparate, perform: Perform, labels: Sequence[int], others: Sequence[int],
                     mixtures: int = 32, steps: int = 150, seed: int = 0) -> dict[str, list[float]]:
    """For each of ``labels``, the feature in [0, 1]^K whose mask best recovers that instrument's phrases
    from ``mixtures`` mixtures with another instrument of ``others`` (``mask_loss``, Adam over the
    feature alone; the net is frozen and left in evaluation mode)."""
    net = objective.net.eval().requires_grad_(False)
    found = {}
    for label in labels:
        rng = np.random.default_rng([seed, label])
        with torch.no_grad():
            batch = phrase_mixtures(objective, perform, label, [o for o in others if o != label], rng, mixtures)
        logit = torch.zeros(net.config.k, requires_grad=True)
        optimiser = torch.optim.Adam([logit], lr=0.1)
        for step in range(steps):
            loss = mask_loss(objective, torch.sigmoid(logit), *batch)
            if step in (0, steps - 1):
                log.info("%s from its sound: loss %.4f at step %d", net.config.labels[label], loss.item(), step)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
        found[net.config.labels[label]] = [round(x, 5) for x in torch.sigmoid(logit).tolist()]
    return found


def name_checkpoint(checkpoint: Path, caches: Sequence[Path], out: Path, count: int = 480, seed: int = 0,
                    per_label: int = 24, raw: Path | None = None) -> dict[str, list[float]]:
    """Write ``checkpoint`` with the prototypes of the solos of ``caches`` to ``out``; a cache missing is
    rendered first (``count`` synthetic solos from ``seed``), one lacking the model's frame size re-rendered.
    With no caches the checkpoint's own prototypes stay.  With ``raw`` (the extracted sources of
    ``sources.toml``), each name still without one that the training recordings play gets one from its sound."""
    model = load_checkpoint(checkpoint)
    size, names = model.net.config.image_size, tuple(model.net.config.labels)
    if names != NAMES[: len(names)]:
        raise SystemExit(f"{checkpoint} names its instruments otherwise than the training caches do")
    solos = [SoloCache.ensure(folder, 0 if (folder / "meta.json").exists() else count, [size], seed)
             for folder in caches]
    objective = MixAndSeparate(model.net)
    found = (instrument_prototypes(objective, [Mixer(c, size, torch.device("cpu")) for c in solos],
                                   per_label=per_label) if solos else dict(model.metadata.get("prototypes", {})))
    metadata = {**model.metadata, "prototypes_from": [c.meta["source"] for c in solos] if solos
                else model.metadata.get("prototypes_from", [])}
    if raw is not None:
        from .realsolo import train_phrases  # needs the recordings' decoders, only here
        perform, playable, _ = train_phrases(raw, len(names))
        heard = sound_prototypes(objective, perform, [label for label in playable if names[label] not in found],
                                 playable)
        found.update(heard)
        metadata["prototypes_from_sound"] = sorted(heard)
    save_checkpoint(out, model.net, {**metadata, "prototypes": found})
    return found
