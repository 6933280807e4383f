"""Train the refit of simultaneous picks (``nets.Refit``) through the frozen model.

Mixtures of two or three phrases of the train recordings and soundfonts (:class:`.nametune.Mixtures`, at
random gains; optionally with players playing on through their rests and players seen but silent, which lost
on the held-out sources: ``models/HISTORY.md``) go through the frozen U-Net once; their components, mixtures
and sources are kept at the refit's half resolution.  Each source is picked by its name's prototype, jittered
by ``noise`` and in about ``wrong`` of the picks another name's, as a click on real footage starts off; the
refit learns to move the picks' features so that their shared masks give each source its own magnitudes: the
L1 error over the mixture's, plus ``error_db`` times the training's SDR-like shared error (which lost too).
Only the refit learns; the rest of the model is unchanged.
"""
from __future__ import annotations

import dataclasses
import logging
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..core.checkpoint import LoadedModel, load_checkpoint, save_checkpoint
from ..core.nets import PixelPlayerNet, half
from .nametune import Mixtures, Settings, phrase_pool, prototype_table
from .objective import MixAndSeparate, shared_error_db

log = logging.getLogger(__name__)
MOST = 4  # picks of a mixture: a trio and a silent player


@dataclass
class RefitSettings:
    """How the refit's mixtures are drawn and how it learns."""

    rounds: int = 3
    mixtures: int = 4000
    phrases: int = 24  # phrases of each name in the pool
    steps: int = 3000
    batch: int = 32
    lr: float = 1e-3
    noise: float = 0.1  # spread of the jitter added to the starting features
    wrong: float = 0.25  # share of picks starting from a random name's prototype
    error_db: float = 0.0  # weight of the shared error (dB) beside the L1 error
    step: float = 0.5  # the share of the learned move applied (the refit's ``step``)
    trios: float = 0.5  # share of mixtures of three (else two); the rest as in :class:`.nametune.Settings`
    silent: float = 0.0
    extra_silent: float = 0.0
    dense: float = 0.0

    def mixing(self) -> Settings:
        return Settings(batch=8, trios=self.trios, silent=self.silent, extra_silent=self.extra_silent,
                        dense=self.dense)


@torch.no_grad()
def through_model(net: PixelPlayerNet, mixer: Mixtures, count: int) -> dict[str, torch.Tensor]:
    """``count`` mixtures drawn by ``mixer`` as the frozen ``net`` hears them, at half resolution (float16):
    ``components`` ``(N, K, F, T)``, ``mixture`` ``(N, F, T)``, ``sources`` ``(N, MOST, F, T)`` and ``labels``
    ``(N, MOST)`` (-1: no pick)."""
    objective = MixAndSeparate(net)
    kept: dict[str, list[torch.Tensor]] = {"components": [], "mixture": [], "sources": [], "labels": []}
    while sum(len(x) for x in kept["labels"]) < count:
        audio, labels = mixer.draw()
        mixture, sources = objective.magnitudes(audio)
        components = net.components(objective.front.network_input(mixture[:, None]))
        pad = MOST - labels.shape[1]
        kept["components"].append(half(components).half())
        kept["mixture"].append(half(mixture).half())
        kept["sources"].append(torch.nn.functional.pad(half(sources), (0, 0, 0, 0, 0, pad)).half())
        kept["labels"].append(torch.nn.functional.pad(labels, (0, pad), value=-1))
    return {key: torch.cat(value)[:count] for key, value in kept.items()}


class RefitTrainer:
    """The refit (new, in a copy of the model's net), the frozen rest of the model, the mixtures and Adam."""

    def __init__(self, model: LoadedModel, data: dict[str, torch.Tensor], settings: RefitSettings,
                 seed: int = 0) -> None:
        config = dataclasses.replace(model.net.config, refit=settings.rounds)
        self.net = PixelPlayerNet(config)
        missing = self.net.load_state_dict(model.net.state_dict(), strict=False).missing_keys
        if any(not key.startswith("refit.") for key in missing):
            raise ValueError(f"the model lacks {[key for key in missing if not key.startswith('refit.')]}")
        self.net.eval().requires_grad_(False)
        self.refit = self.net.refit.requires_grad_(True)
        self.model, self.data, self.settings = model, data, settings
        self.prototypes = prototype_table(model)
        self.optimiser = torch.optim.Adam(self.refit.parameters(), lr=settings.lr)
        self.generator = torch.Generator().manual_seed(seed)
        self.steps = 0

    def starts(self, labels: torch.Tensor) -> torch.Tensor:
        """The ``(B, MOST, K)`` features the picks of ``labels`` start from: their names' prototypes, some
        another name's, jittered."""
        s, g = self.settings, self.generator
        swapped = (torch.rand(labels.shape, generator=g) < s.wrong) & (labels >= 0)
        labels = torch.where(swapped, torch.randint(len(self.prototypes), labels.shape, generator=g), labels)
        features = self.prototypes[labels.clamp_min(0)]
        return features + s.noise * torch.randn(features.shape, generator=g)

    def loss(self, index: torch.Tensor, features: torch.Tensor | None = None) -> torch.Tensor:
        """The loss of the mixtures at ``index``, their picks started from ``features`` (default:
        :meth:`starts`) and refitted with the whole learned move."""
        d = {key: value[index] for key, value in self.data.items()}
        components, mixture, sources = (d[key].float() for key in ("components", "mixture", "sources"))
        picked = (d["labels"] >= 0).float()
        start = self.starts(d["labels"]) if features is None else features
        moved = self.refit(self.net.synth, start, components, mixture, picked, step=1.0)
        estimate = self.refit.masks(self.net.synth, moved, components, picked) * mixture[:, None]
        loss = ((estimate - sources).abs().sum((2, 3)) * picked).sum() / (mixture.sum((1, 2)) * picked.sum(1)).sum()
        if self.settings.error_db:  # padding's logits as good as -inf: it takes nothing
            logits = self.net.synth(moved, components).masked_fill(picked[..., None, None] == 0, -30.0)
            loss = loss + self.settings.error_db * shared_error_db(logits, mixture, sources)
        return loss

    def step(self) -> float:
        """One Adam step on a random batch of the mixtures; its loss."""
        index = torch.randint(len(self.data["labels"]), (self.settings.batch,), generator=self.generator)
        loss = self.loss(index)
        self.optimiser.zero_grad()
        loss.backward()
        self.optimiser.step()
        self.steps += 1
        return loss.item()

    def save(self, path: Path, **about) -> Path:
        """Write the model with its refit, at the settings' ``step``, and ``about`` as ``refit_trained``."""
        self.refit.step.fill_(self.settings.step)
        return save_checkpoint(path, self.net, {**self.model.metadata, "refit_trained": about})


def refit_checkpoint(checkpoint: Path, raw: Path, out: Path, settings: RefitSettings | None = None,
                     seed: int = 0) -> Path:
    """Train a refit for ``checkpoint`` on phrases of the train sources in ``raw``; write ``out``."""
    settings = settings or RefitSettings()
    model = load_checkpoint(checkpoint)
    if not model.metadata.get("prototypes"):
        raise SystemExit(f"{checkpoint} keeps no prototypes: the refit's picks start from them")
    began = time.monotonic()
    audio, labels = phrase_pool(raw, model, settings.phrases, seed)
    data = through_model(model.net.eval(), Mixtures(audio, labels, settings.mixing(), seed), settings.mixtures)
    log.info("%d mixtures of %d phrases in %.0f s", settings.mixtures, len(audio), time.monotonic() - began)
    trainer = RefitTrainer(model, data, settings, seed)
    recent = []
    while trainer.steps < settings.steps:
        recent.append(trainer.step())
        if trainer.steps % 200 == 0:
            log.info("step %d: loss %.4f", trainer.steps, np.mean(recent))
            recent = []
    return trainer.save(out, **{"from": str(checkpoint), "seed": seed, **vars(settings)})
