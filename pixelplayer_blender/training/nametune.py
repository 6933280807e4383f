"""Tune the audio side to the names: each name's query learns to pull its instrument out of mixtures.

A named pick (and a click the picture names) follows its name's prototype, a fixed feature; mix-and-separate
training never asks that one feature to separate its instrument across clips.  Here it does: mixtures of two
or three phrases of distinct instruments from the train recordings and soundfonts (``realsolo.train_phrases``),
each source "clicked" by its name's query (a learnable feature, from the prototype), trained with the
training's own losses (ratio-mask BCE and the shared SDR-like error of all picks at once).  The U-Net and the
synthesizer learn too, held near the starting U-Net's components (their relative squared distance, weighted by
``hold``) so that the video features keep their meaning for the sound map and unnamed clicks.  In about
``silent`` of the mixtures one player is seen but not heard: its name is queried all the same and must take
nothing; with ``extra_silent``, a batch's mixtures keep their two or three sounding players and gain a silent one.
With ``dense``, a source plays on through its rests (a second phrase of its name over it), as real solos do.
The video side and the label head are unchanged.
"""
from __future__ import annotations

import copy
import logging
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..core.checkpoint import LoadedModel, load_checkpoint, save_checkpoint
from ..core.isolate import prototypes
from .objective import MixAndSeparate, mask_target, shared_error_db, weighted_bce
from .trainer import learning_rate

log = logging.getLogger(__name__)


def phrase_pool(raw: Path, model: LoadedModel, per_label: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``per_label`` phrases of one window of every name the train sources play and the model keeps a prototype
    of: ``(N, samples)`` float16 audio (silent phrases dropped) and ``(N,)`` labels."""
    from .realsolo import train_phrases  # needs the recordings' decoders, only here

    names, samples = model.net.config.labels, model.net.config.window_samples
    known = prototypes(model)
    perform, playable, _ = train_phrases(raw, len(names))
    audio, labels = [], []
    for i in range(per_label):
        for label in (label for label in playable if names[label].lower() in known):
            phrase = perform(label, np.random.default_rng([seed, label, i]), samples)[:samples]
            if np.abs(phrase).max() > 1e-3:
                audio.append(np.pad(phrase, (0, samples - len(phrase))).astype(np.float16))
                labels.append(label)
    return np.stack(audio), np.array(labels)


def prototype_table(model: LoadedModel) -> torch.Tensor:
    """``(labels, K)``: each label's prototype, 0.5 throughout for a name the model keeps none of."""
    known, config = prototypes(model), model.net.config
    return torch.tensor([known.get(name.lower(), [0.5] * config.k) for name in config.labels])


@dataclass
class Settings:
    """How a tuning run draws its mixtures and learns."""

    batch: int = 16
    lr: float = 1e-4  # the U-Net's and the synthesizer's
    query_lr: float = 0.03  # the names' queries (as logits)
    hold: float = 1.0  # weight of the components' relative distance to the starting U-Net's
    trios: float = 0.4  # share of batches of three sources (else two)
    gain_db: float = 6.0
    warmup: int = 100  # steps over which the learning rates ramp up from 0
    silent: float = 0.0  # chance that a mixture's last source is silent, its name queried all the same
    extra_silent: float = 0.0  # chance that a batch's mixtures gain one more player, seen but silent
    dense: float = 0.0  # chance that a source plays on through its rests: a second phrase of its name over it


class NameTuner:
    """The fine-tuning state: the model (its video side frozen), the names' queries and the optimiser."""

    def __init__(self, model: LoadedModel, audio: np.ndarray, labels: np.ndarray, settings: Settings,
                 seed: int = 0) -> None:
        self.model, self.settings = model, settings
        self.net = model.net.eval().requires_grad_(False)  # batch norms keep their statistics
        self.objective = MixAndSeparate(self.net)
        self.start = copy.deepcopy(self.net.audio)  # the U-Net the components are held near
        self.queries = torch.nn.Parameter(torch.logit(prototype_table(model).clamp(0.02, 0.98)))  # as logits
        self.net.audio.requires_grad_(True)
        self.net.synth.requires_grad_(True)
        self.optimiser = torch.optim.Adam([
            {"params": [self.queries], "lr": settings.query_lr},
            {"params": [*self.net.audio.parameters(), *self.net.synth.parameters()], "lr": settings.lr}])
        self.rates = [group["lr"] for group in self.optimiser.param_groups]
        self.steps = 0
        self.mixtures = Mixtures(audio, labels, settings, seed)

    def losses(self, audio: torch.Tensor, labels: torch.Tensor) -> dict[str, torch.Tensor]:
        """The losses of ``(B, N, samples)`` sources clicked by their ``(B, N)`` names' queries, and ``total``."""
        with torch.no_grad():
            mix, sources = self.objective.magnitudes(audio)
            target, weight = mask_target(mix, sources)
            log_mix = self.objective.front.network_input(mix[:, None])
            held = self.start(log_mix)
        comps = self.net.components(log_mix)
        logits = self.net.synth(torch.sigmoid(self.queries)[labels], comps)
        losses = {"mask": weighted_bce(logits, target, weight), "shared_error_db": shared_error_db(logits, mix, sources),
                  "moved": (comps - held).square().mean() / held.square().mean()}
        losses["total"] = 0.5 * losses["mask"] + 0.3 * losses["shared_error_db"] + self.settings.hold * losses["moved"]
        return losses

    def step(self) -> dict[str, float]:
        """One optimiser step on a new batch (:meth:`Mixtures.draw`); its losses."""
        losses = self.losses(*self.mixtures.draw())
        for group, rate in zip(self.optimiser.param_groups, self.rates):  # warm-up only: no decay
            group["lr"] = learning_rate(rate, self.steps, 0.0, max(self.settings.warmup, 1))
        self.steps += 1
        self.optimiser.zero_grad()
        losses["total"].backward()
        self.optimiser.step()
        return {k: v.item() for k, v in losses.items()}

    def save(self, path: Path, **about) -> Path:
        """Write the tuned model, its prototypes the names' queries, with ``about`` as ``names_tuned``."""
        known = prototypes(self.model)
        tuned = {name: [round(x, 5) for x in torch.sigmoid(self.queries[i]).tolist()]
                 for i, name in enumerate(self.net.config.labels) if name.lower() in known}
        return save_checkpoint(path, self.net, {**self.model.metadata, "prototypes": tuned, "names_tuned": about})


class Mixtures:
    """Batches of mixtures of a phrase pool's phrases (:func:`phrase_pool`), drawn as ``settings`` say."""

    def __init__(self, audio: np.ndarray, labels: np.ndarray, settings: Settings, seed: int = 0) -> None:
        self.audio, self.settings = audio, settings
        self.by_label = {int(label): np.flatnonzero(labels == label) for label in np.unique(labels)}
        self.rng = np.random.default_rng(seed)

    def draw(self) -> tuple[torch.Tensor, torch.Tensor]:
        """A batch of ``(B, N, samples)`` sources of distinct names, each a phrase (:meth:`phrase`) at a random
        gain (the last one silent in about ``silent`` of the mixtures: a player who is seen but not
        heard, whose name must take nothing; in about ``extra_silent`` of the batches one more player, silent,
        joins every mixture), and their ``(B, N)`` labels."""
        rng, s = self.rng, self.settings
        n = 3 if rng.random() < s.trios else 2
        extra = self.chance(s.extra_silent)
        n += extra
        labels = np.stack([rng.choice(list(self.by_label), n, replace=False) for _ in range(s.batch)])
        audio = np.stack([[self.phrase(int(label)) * 10 ** (rng.uniform(-s.gain_db, s.gain_db) / 20)
                           for label in row] for row in labels])
        if s.silent:  # (drawn only then: a run without silent players draws as it did before they were added)
            audio[rng.random(s.batch) < s.silent, -1] = 0
        if extra:
            audio[:, -1] = 0
        return torch.from_numpy(audio.astype(np.float32)), torch.from_numpy(labels)

    def phrase(self, label: int) -> np.ndarray:
        """A pooled phrase of ``label`` shifted in time; in about ``dense`` of the draws another one of the same
        name (-6..0 dB) plays over it, filling its rests as a real performer plays on."""
        rng = self.rng

        def shifted() -> np.ndarray:
            return np.roll(self.audio[rng.choice(self.by_label[label])].astype(np.float32),
                           int(rng.integers(self.audio.shape[1])))

        audio = shifted()
        if self.chance(self.settings.dense):
            audio += shifted() * 10 ** (rng.uniform(-6, 0) / 20)
        return audio

    def chance(self, p: float) -> bool:
        """True with probability ``p``; a draw is taken only when ``p`` is not 0, so a run without the option
        draws as it did before the option was added."""
        return bool(p) and self.rng.random() < p


def tune_checkpoint(checkpoint: Path, raw: Path, out: Path, minutes: float, per_label: int = 160,
                    settings: Settings | None = None, snapshot_every: int = 0, seed: int = 0, steps: int = 0) -> Path:
    """Tune ``checkpoint``'s audio side and prototypes to the names for ``minutes`` of wall time on phrases of
    the train sources in ``raw``, or for ``steps`` steps if that comes first (0: no limit); write ``out`` (and
    ``out``'s stem + ``_STEP.pt`` every ``snapshot_every`` steps)."""
    settings = settings or Settings()
    model = load_checkpoint(checkpoint)
    if not model.metadata.get("prototypes"):
        raise SystemExit(f"{checkpoint} keeps no prototypes: there are no names to tune")
    audio, labels = phrase_pool(raw, model, per_label, seed)
    log.info("%d phrases of %d names", len(audio), len(np.unique(labels)))
    tuner = NameTuner(model, audio, labels, settings, seed)
    about = {"from": str(checkpoint), "minutes": minutes, "phrases_per_name": per_label, "seed": seed,
             **vars(settings)}
    began, recent = time.monotonic(), []
    while time.monotonic() - began < minutes * 60 and not (steps and tuner.steps >= steps):
        recent.append(tuner.step())
        if tuner.steps % 25 == 0:
            means = {k: np.mean([r[k] for r in recent]) for k in recent[0]}
            log.info("step %d: %s", tuner.steps, ", ".join(f"{k} {v:.4f}" for k, v in means.items()))
            recent = []
        if snapshot_every and tuner.steps % snapshot_every == 0:
            tuner.save(out.with_name(f"{out.stem}_{tuner.steps:05d}.pt"), **about, steps=tuner.steps)
    return tuner.save(out, **about, steps=tuner.steps)
