"""One training run of PixelPlayer: setup, resume, step, validate, save (``scripts/train.py`` drives it).

Solos come from one or more caches (``cache.py``), each step's mixtures from one of them, drawn
with the weights given (``--solo-weights``): the synthetic emoji scenes can stay one ingredient
among several.  The run folder holds ``state.pt`` (resumable: model, optimiser, step, RNG states),
``model.pt`` (an engine checkpoint), ``train.log`` and ``curve.jsonl``; with held-out solos,
``model_best.pt`` keeps the weights with the lowest held-out loss.  Snapshots, ``model_best.pt``
and the final ``model.pt`` carry each instrument's prototype (``prototypes.py``): the mean clicked
feature of its training solos, a query for a click that names its instrument.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import math
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from torch import nn

from ..core.checkpoint import load_checkpoint, save_checkpoint
from ..core.config import PRESETS, ModelConfig
from ..core.files import atomic_path
from ..core.nets import PixelPlayerNet, widen
from . import backbone
from .cache import SoloCache
from .instruments import NAMES
from .mixing import Augment, Mixer
from .objective import MixAndSeparate
from .prototypes import instrument_prototypes

log = logging.getLogger("train")


def learning_rate(base: float, step: int, progress: float, warmup: int) -> float:
    """Linear warm-up, then cosine decay over the budget (``progress`` in [0, 1])."""
    return base * min(1.0, (step + 1) / warmup) * 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))


def augmentation(args: argparse.Namespace) -> Augment:
    return Augment(gain_db=args.gain_db, shrink=args.shrink, flip=args.flip, semitones=args.semitones,
                   eq_db=args.eq_db)


def setup_logging(out: Path, rank: int) -> None:
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if rank == 0:
        handlers.append(logging.FileHandler(out / "train.log"))
    logging.basicConfig(level=logging.INFO if rank == 0 else logging.WARNING, handlers=handlers,
                        format="%(asctime)s %(message)s", datefmt="%H:%M:%S", force=True)


def init_audio(net: PixelPlayerNet, path: Path) -> list[str]:
    """Start ``net``'s U-Net, synthesizer and label-head rows of shared names from another checkpoint's;
    returns what was taken (nothing where shapes differ)."""
    other = load_checkpoint(path).net
    state, theirs = net.state_dict(), other.state_dict()
    taken = {k: v for k, v in theirs.items() if k.split(".")[0] in ("audio", "synth") and k in state
             and v.shape == state[k].shape}
    parts = sorted({k.split(".")[0] for k in taken})
    if net.label_head is not None and other.label_head is not None and other.config.k == net.config.k:
        rows = [(net.config.labels.index(n), i) for i, n in enumerate(other.config.labels) if n in net.config.labels]
        weight, bias = state["label_head.weight"].clone(), state["label_head.bias"].clone()
        for new, old in rows:
            weight[new], bias[new] = theirs["label_head.weight"][old], theirs["label_head.bias"][old]
        taken.update({"label_head.weight": weight, "label_head.bias": bias})
        parts.append(f"label head ({len(rows)} names)")
    net.load_state_dict({**state, **taken})
    return parts


class Trainer:
    """A training run configured by ``scripts/train.py``'s arguments."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.world, self.rank = int(os.environ.get("WORLD_SIZE", 1)), int(os.environ.get("RANK", 0))
        cuda = torch.cuda.is_available()
        self.device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0))) if cuda else torch.device("cpu")
        self.amp = cuda or args.amp
        if self.world > 1:
            dist.init_process_group("nccl" if cuda else "gloo")
            if cuda:
                torch.cuda.set_device(self.device)
        torch.set_num_threads(args.threads)
        torch.backends.cudnn.benchmark = True
        args.out.mkdir(parents=True, exist_ok=True)
        setup_logging(args.out, self.rank)
        self.config: ModelConfig = dataclasses.replace(PRESETS[args.preset], labels=NAMES,
                                                       k=args.k or PRESETS[args.preset].k)
        self.caches = self._caches()
        self.weights = np.asarray(args.solo_weights or [1.0] * len(self.caches), float)
        if len(self.weights) != len(self.caches):
            raise SystemExit(f"--solo-weights: {len(self.weights)} weights for {len(self.caches)} caches")
        self.weights /= self.weights.sum()
        size = self.config.image_size
        self.mixers = [Mixer(c, size, self.device, last=len(c) - args.val) for c in self.caches]
        self.held_out = [Mixer(c, size, self.device, first=len(c) - args.val) for c in self.caches] if args.val else []
        self.length = args.crop * self.config.hop if args.crop else self.config.window_samples
        self.augment = augmentation(args)

        torch.manual_seed(args.seed)  # identical initial weights on every rank
        self.net = self._net()
        self.objective = MixAndSeparate(self.net, args.mask, args.crop, args.label_weight,
                                        args.shared_weight).to(self.device)
        self.optimiser = torch.optim.Adam(self._parameter_groups(), lr=args.lr)
        self.rng = np.random.default_rng([args.seed, self.rank])
        torch.manual_seed(args.seed * 1000 + self.rank)
        self.step_count, self.spent, self.best = 0, 0.0, math.inf
        self.state_path = args.out / "state.pt"
        self.model = nn.parallel.DistributedDataParallel(self.objective) if self.world > 1 else self.objective
        self.train_mode()

    def _caches(self) -> list[SoloCache]:
        """Caches missing are unpacked from their packs, or, the first only, rendered; all must hold
        frames of the net's size."""
        args, size = self.args, self.config.image_size
        packs = [*args.from_pack, *[None] * (len(args.solos) - len(args.from_pack))]
        if self.rank == 0:
            SoloCache.ensure(args.solos[0], args.count, [size, *args.sizes], args.seed, args.index, args.instruments,
                             args.workers, packs[0])
            for folder, source in zip(args.solos[1:], packs[1:]):
                if source is not None:
                    SoloCache.ensure(folder, 0, [size], workers=args.workers, pack=source)
        if self.world > 1:
            dist.barrier()
        caches = [SoloCache(folder) for folder in args.solos]
        for cache in caches[1:]:
            if size not in cache.frames:
                raise SystemExit(f"{cache.folder} holds frames of {cache.meta['sizes']} px, not {size}")
        return caches

    def _net(self) -> PixelPlayerNet:
        args, net = self.args, PixelPlayerNet(self.config)
        self.backbone_source = None
        if args.init:
            loaded = load_checkpoint(args.init)
            start, self.backbone_source = loaded.net, loaded.metadata.get("backbone")  # the trunk's origin
            if (old := start.config.k) != self.config.k:  # widen refuses to shrink, with a clear message
                start = widen(start, self.config.k, args.widen_noise, args.seed)
                log.info("widened %s from K = %d to %d", args.init, old, self.config.k)
            net.load_state_dict(start.state_dict())
        trunk = getattr(net.video, "features", None)
        if (args.backbone or args.freeze_backbone) and trunk is None:
            raise SystemExit(f"--backbone: the {self.config.video_net} video net has no pretrained trunk")
        if args.backbone:
            self.backbone_source = backbone.load_into(trunk, args.backbone)
        if args.init_audio:
            log.info("from %s: %s", args.init_audio, ", ".join(init_audio(net, args.init_audio)) or "nothing")
        self.frozen = [m for m, frozen in ((trunk, args.freeze_backbone), (net.audio, args.freeze_audio)) if frozen]
        for module in self.frozen:
            module.requires_grad_(False)
        return net

    def _parameter_groups(self) -> list[dict]:
        """The trained parameters; the video trunk's in a group of its own, its learning rate scaled by
        ``--backbone-lr``."""
        trunk = getattr(self.net.video, "features", None)
        ids = {id(p) for p in trunk.parameters()} if trunk is not None else set()
        trained = [p for p in self.objective.parameters() if p.requires_grad]
        groups = [{"params": [p for p in trained if id(p) not in ids], "scale": 1.0},
                  {"params": [p for p in trained if id(p) in ids], "scale": self.args.backbone_lr}]
        return [g for g in groups if g["params"]]

    def train_mode(self) -> None:
        """Training mode, but frozen parts keep their batch-norm statistics."""
        self.net.train()
        for module in self.frozen:
            module.eval()

    # -------------------------------------------------------------------------------------------- run

    def resume(self) -> None:
        """Continue from the run folder's ``state.pt``, if there is one."""
        if not self.state_path.exists():
            return
        state = torch.load(self.state_path, map_location=self.device, weights_only=True)
        self.net.load_state_dict(state["model"])
        self.optimiser.load_state_dict(state["optimiser"])
        self.step_count, self.spent, self.best = state["step"], state["spent_seconds"], state["best_validation"]
        self.backbone_source = state.get("backbone_source", self.backbone_source)
        torch.set_rng_state(state["torch_rng"])
        self.rng.bit_generator.state = json.loads(state["numpy_rng"])
        log.info("resumed from step %d (%.1f %s minutes)", self.step_count, self.spent / 60, self.args.clock)

    def step(self, lr: float) -> dict[str, torch.Tensor]:
        """One optimiser step on a batch of mixtures from one cache, drawn by the caches' weights."""
        args = self.args
        for group in self.optimiser.param_groups:
            group["lr"] = lr * group.get("scale", 1.0)
        mixer = self.mixers[self.rng.choice(len(self.mixers), p=self.weights) if len(self.mixers) > 1 else 0]
        n = int(args.sources[self.rng.integers(len(args.sources))])
        batch = mixer.draw(self.rng, args.batch, n, args.video_frames, args.pool, self.length, self.augment)
        statistics = {name: b.clone() for name, b in self.net.named_buffers()}  # batch norms' running statistics
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.amp):
            losses = self.model(**batch)
        self.optimiser.zero_grad(set_to_none=True)
        if torch.isfinite(losses["total"]):
            losses["total"].backward()  # bfloat16 autocast needs no loss scaling
            self.optimiser.step()
        else:  # neither the weights nor the running statistics take anything from this batch
            self.net.load_state_dict(statistics, strict=False)
            log.warning("step %d: non-finite loss, no update", self.step_count + 1)
        self.step_count += 1
        return losses

    @torch.no_grad()
    def validate(self) -> dict[str, float]:
        """Mean losses over fixed mixtures of each cache's held-out solos (no augmentation but gains),
        averaged over the caches by their weights; with several caches, each one's too."""
        args = self.args
        self.net.eval()
        per_cache = []
        for mixer in self.held_out:
            rng = np.random.default_rng([args.seed, 999])
            sums: dict[str, float] = {}
            batches = 8
            for i in range(batches):
                n = args.sources[i % len(args.sources)]
                pool = min(args.pool or args.batch * n, len(mixer))
                batch = mixer.draw(rng, args.batch, n, args.video_frames, pool, self.length, Augment(args.gain_db))
                with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.amp):
                    losses = self.objective(**batch)
                for k, v in losses.items():
                    sums[k] = sums.get(k, 0.0) + float(v) / batches
            per_cache.append(sums)
        self.train_mode()
        scores = {k: float(sum(w * s[k] for w, s in zip(self.weights, per_cache))) for k in per_cache[0]}
        if len(per_cache) > 1:
            for cache, sums in zip(self.caches, per_cache):
                scores.update({f"{cache.folder.name}/{k}": v for k, v in sums.items()})
        return scores

    def prototypes(self) -> dict[str, list[float]]:
        """Each instrument's prototype over the training solos of every cache (``prototypes.py``)."""
        found = instrument_prototypes(self.objective, self.mixers, self.amp)
        self.train_mode()
        return found

    def save_state(self) -> None:
        state = {"model": self.net.state_dict(), "optimiser": self.optimiser.state_dict(),
                 "step": self.step_count, "spent_seconds": self.spent, "best_validation": self.best,
                 "backbone_source": self.backbone_source, "torch_rng": torch.get_rng_state(),
                 "numpy_rng": json.dumps(self.rng.bit_generator.state)}
        with atomic_path(self.state_path) as tmp:
            torch.save(state, tmp)

    def export(self, path: Path, validation: dict[str, float] | None = None, prototypes: bool = False) -> None:
        """An engine checkpoint of the current weights and how they were trained."""
        args = self.args
        data = "; ".join(f"{len(c) - args.val} solos ({w:.0%} of steps): {c.meta['source']} "
                         f"({', '.join(c.meta['instruments'])})" for c, w in zip(self.caches, self.weights))
        save_checkpoint(path, self.net, {
            "trained": True, "preset": args.preset, "steps": self.step_count, "batch": args.batch * self.world,
            "sources": args.sources, "pool": args.pool, "mask": args.mask, "crop_frames": args.crop,
            "label_weight": args.label_weight, "shared_weight": args.shared_weight,
            "augment": dataclasses.asdict(self.augment), f"{args.clock}_minutes": round(self.spent / 60, 1),
            "processes": self.world, "data": data,
            **({"backbone": self.backbone_source} if self.backbone_source else {}),
            "frozen": [name for name, frozen in (("video trunk", args.freeze_backbone), ("audio U-Net",
                                                 args.freeze_audio)) if frozen],
            **({"backbone_lr": args.backbone_lr} if args.backbone_lr != 1 and not args.freeze_backbone else {}),
            **({"validation": validation} if validation else {}),
            **({"prototypes": self.prototypes()} if prototypes else {}),
        })

    def run(self) -> None:
        """Train until the step or time budget is spent, validating, saving and snapshotting on the way."""
        args, rank = self.args, self.rank
        self.resume()
        log.info("preset %s: %.2f M parameters (%.2f M trained), %s solos (%d held out of each), batch %d x %d "
                 "processes, device %s%s", args.preset, sum(p.numel() for p in self.net.parameters()) / 1e6,
                 sum(p.numel() for p in self.net.parameters() if p.requires_grad) / 1e6,
                 " + ".join(str(len(m)) for m in self.mixers), args.val, args.batch, self.world, self.device,
                 " (bfloat16 autocast)" if self.amp else "")
        budget = (args.budget_minutes or math.inf) * 60
        clock = time.process_time if args.clock == "cpu" else time.perf_counter
        sums: dict[str, float] = {}
        last_scores: dict[str, float] | None = None  # the latest held-out scores, recorded in model.pt
        last, wall = clock(), time.perf_counter()
        curve = open(args.out / "curve.jsonl", "a") if rank == 0 else None
        max_steps = min(math.inf if args.steps is None else args.steps,
                        math.inf if args.stop_at is None else args.stop_at)
        while self.step_count < max_steps and self.spent < budget:
            progress = max(self.step_count / args.steps if args.steps else 0.0, self.spent / budget)
            lr = learning_rate(args.lr, self.step_count, progress, args.warmup)
            losses = self.step(lr)
            step = self.step_count
            now = clock()
            self.spent += now - last
            last = now
            if self.world > 1:  # every rank must see the same budget and learning rate
                shared = torch.tensor([self.spent], dtype=torch.float64, device=self.device)
                dist.all_reduce(shared, dist.ReduceOp.MAX)
                self.spent = float(shared)
            for k, v in losses.items():
                sums[k] = sums.get(k, 0.0) + v.item()
            if step % args.log_every == 0 and rank == 0:
                means = {k: v / args.log_every for k, v in sums.items()}
                rate = args.log_every * args.batch * self.world / (time.perf_counter() - wall)
                log.info("step %d  %s  lr %.2e  %.1f mixtures/s  %.1f %s min", step,
                         "  ".join(f"{k} {v:.4f}" for k, v in means.items()), lr, rate, self.spent / 60, args.clock)
                curve.write(json.dumps({"step": step, f"{args.clock}_minutes": round(self.spent / 60, 2), "lr": lr,
                                        **means}) + "\n")
                curve.flush()
                sums, wall = {}, time.perf_counter()
            ending = step >= max_steps or self.spent >= budget
            if rank == 0 and self.held_out and (step % args.val_every == 0 or ending):
                scores = last_scores = self.validate()
                log.info("step %d  validation  %s", step, "  ".join(f"{k} {v:.4f}" for k, v in scores.items()))
                curve.write(json.dumps({"step": step, "validation": scores}) + "\n")
                score = scores["shared_error_db" if args.shared_weight else "mask_clicked"]
                if score < self.best:
                    self.best = score
                    self.export(args.out / "model_best.pt", scores, prototypes=True)
                last = clock()  # validation is not training time
            if rank == 0 and step % args.save_every == 0:
                self.save_state()
                self.export(args.out / "model.pt")
            if rank == 0 and args.snapshot_every and step % args.snapshot_every == 0:
                self.export(args.out / f"model_{step:06d}.pt", prototypes=True)
                last = clock()  # nor are the snapshot's prototypes
        if rank == 0:
            self.save_state()
            self.export(args.out / "model.pt", last_scores, prototypes=True)
            log.info("done: step %d, %.1f %s minutes, model in %s", self.step_count, self.spent / 60, args.clock,
                     args.out / "model.pt")
        if self.world > 1:
            dist.destroy_process_group()
