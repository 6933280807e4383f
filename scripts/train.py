"""Mix-and-separate training of PixelPlayer (Zhao et al., "The Sound of Pixels", 2018).

    python scripts/train.py OUT [--preset lite] [--solos .cache/train/solos] [--count 3000]
                            [--budget-minutes 60 | --steps N] [--index real.csv] [--init model.pt]
    torchrun --nproc_per_node 4 scripts/train.py OUT ...      # several GPUs (DistributedDataParallel)

Solos are rendered once into a cache folder (``pixelplayer_blender/training/cache.py``), synthetic by default
(``pixelplayer_blender/training``), or cut from real footage listed in a Sound-of-Pixels index CSV
(``--index``); ``--pack`` writes a cache as a compact pack (Vorbis + JPEG) to carry to a GPU machine,
``--from-pack`` unpacks one there. The cache is held on the training device; every step mixes
N = 2 or 3 random solos of distinct instruments at random gains, with optional pitch, equaliser,
mirror and shrink augmentation (``training/mixing.py``). Per source: its frames -> video net -> per-pixel features ->
max over frames -> (a) max over space (the paper) and (b) the 3x3 cells around the instrument's box
centre (what a click selects) -> synthesizer with the mixture's U-Net components -> mask logits, with
the paper's log-magnitude-weighted BCE against the ratio (or binary) mask, plus cross-entropy of the
label head on both features. OUT receives ``state.pt`` (resumable: model, optimiser, step, RNG
states), ``model.pt`` (an engine checkpoint), ``train.log`` and ``curve.jsonl``; a run resumes from
``OUT/state.pt`` when it exists. The budget is a number of steps, or minutes (``--budget-minutes``)
of process CPU time (``--clock cpu``: a machine shared with other work, or a paused process, spends
none of it) or of wall-clock time (``--clock wall``, for GPUs). With ``--val N`` the last N solos
are held out and ``model_best.pt`` keeps the weights with the lowest held-out mask loss.
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
import torch.nn.functional as F
from torch import nn

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # a plain checkout without the package installed (a GPU machine)

from pixelplayer_blender.core.checkpoint import load_checkpoint, save_checkpoint  # noqa: E402
from pixelplayer_blender.core.config import PRESETS, ModelConfig  # noqa: E402
from pixelplayer_blender.core.files import atomic_path  # noqa: E402
from pixelplayer_blender.core.nets import PixelPlayerNet, share, widen  # noqa: E402
from pixelplayer_blender.core.spectral import FrontEnd  # noqa: E402
from pixelplayer_blender.training import NAMES  # noqa: E402
from pixelplayer_blender.training.cache import SoloCache, pack  # noqa: E402
from pixelplayer_blender.training.mixing import Augment, Mixer  # noqa: E402

log = logging.getLogger("train")


# ------------------------------------------------------------------------------------------------- objective

class MixAndSeparate(nn.Module):
    """The training objective around a :class:`PixelPlayerNet`; one forward pass = one step's losses."""

    def __init__(self, net: PixelPlayerNet, mask: str = "ratio", crop: int | None = None, label_weight: float = 0.1,
                 shared_weight: float = 0.0):
        super().__init__()
        self.net = net
        self.front = FrontEnd(net.config)
        self.mask = mask
        self.crop = crop
        self.label_weight = label_weight
        self.shared_weight = shared_weight

    def features(self, frames: torch.Tensor, centre: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(P, V, 3, S, S)`` frames -> max-pooled and clicked ``(P, K)`` features."""
        p, v = frames.shape[:2]
        pixels = self.net.pixel_features(frames.flatten(0, 1))
        pixels = pixels.view(p, v, *pixels.shape[1:]).amax(1)  # (P, K, h, w): max over frames
        h, w = pixels.shape[2:]
        local = F.avg_pool2d(pixels, 3, 1, 1, count_include_pad=False).flatten(2)  # mean of 3x3 cells
        rows = (centre[:, 0] * h).long().clamp(0, h - 1)
        cols = (centre[:, 1] * w).long().clamp(0, w - 1)
        clicked = local.gather(2, (rows * w + cols)[:, None, None].expand(-1, local.shape[1], 1))[..., 0]
        return pixels.amax((2, 3)), clicked

    def forward(self, audio: torch.Tensor, members: torch.Tensor, frames: torch.Tensor, centre: torch.Tensor,
                labels: torch.Tensor) -> dict[str, torch.Tensor]:
        b, n, samples = audio.shape
        with torch.no_grad(), torch.autocast(audio.device.type, enabled=False):
            mags = self.front.magnitude(torch.cat([audio.sum(1), audio.flatten(0, 1)]))[:, 0]
            if self.crop and self.crop < mags.shape[-1]:
                t0 = int(torch.randint(mags.shape[-1] - self.crop + 1, ()))
                mags = mags[..., t0: t0 + self.crop]
            mix, sources = mags[:b], mags[b:].view(b, n, *mags.shape[1:])
            weight = torch.log1p(mix).clamp(1e-3, 10)[:, None]
            if self.mask == "ratio":
                target = (sources / mix[:, None].clamp_min(1e-8)).clamp(0, 1)
            else:
                target = (sources >= sources.amax(1, keepdim=True)).float() * (sources > 0)
        comps = self.net.components(self.front.network_input(mix[:, None]))
        losses = {}
        for name, feature in zip(("pooled", "clicked"), self.features(frames, centre)):
            logits = self.net.synth(feature[members], comps).float()
            bce = F.binary_cross_entropy_with_logits(logits, target, reduction="none")
            losses[f"mask_{name}"] = (bce * weight).sum() / weight.expand_as(bce).sum()
            label_logits = self.net.label_logits(feature)
            if label_logits is not None and (labels >= 0).any():
                losses[f"label_{name}"] = F.cross_entropy(label_logits.float(), labels, ignore_index=-1)
            if name == "clicked" and self.shared_weight:
                losses["shared_error_db"] = shared_error_db(logits, mix, sources)
        scale = {"mask": 0.5, "label": self.label_weight, "shared": self.shared_weight}
        losses["total"] = sum(v * scale[k.split("_")[0]] for k, v in losses.items())
        return losses


def shared_error_db(logits: torch.Tensor, mix: torch.Tensor, sources: torch.Tensor, floor: float = 1e-3) -> torch.Tensor:
    """Mean error-to-signal ratio (dB) of all sources clicked at once, masks shared as the engine shares them.

    ``logits`` ``(B, N, F, T)``; ``mix`` ``(B, F, T)`` and ``sources`` ``(B, N, F, T)`` magnitudes. Like
    SDR it weighs bins by energy and every source equally; ``floor`` (of the mixture's energy) keeps a
    silent source's score finite: it is scored by how little of the mixture it takes.
    """
    with torch.autocast(logits.device.type, enabled=False):
        estimate = share(torch.sigmoid(logits.float()), dim=1) * mix[:, None]
        error = (estimate - sources).square().sum((2, 3))
        signal = sources.square().sum((2, 3))
        eps = (floor * mix.square().sum((1, 2))[:, None]).clamp_min(1e-8)
        return (10 * torch.log10((error + eps) / (signal + eps))).mean()


# ------------------------------------------------------------------------------------------------- training

def setup_logging(out: Path, rank: int) -> None:
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if rank == 0:
        handlers.append(logging.FileHandler(out / "train.log"))
    logging.basicConfig(level=logging.INFO if rank == 0 else logging.WARNING, handlers=handlers,
                        format="%(asctime)s %(message)s", datefmt="%H:%M:%S", force=True)


def learning_rate(base: float, step: int, progress: float, warmup: int) -> float:
    """Linear warm-up, then cosine decay over the budget (``progress`` in [0, 1])."""
    return base * min(1.0, (step + 1) / warmup) * 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))


def save_state(path: Path, objective: MixAndSeparate, optimiser: torch.optim.Optimizer, step: int,
               spent: float, best: float, rng: np.random.Generator) -> None:
    state = {"model": objective.net.state_dict(), "optimiser": optimiser.state_dict(),
             "step": step, "spent_seconds": spent, "best_validation": best, "torch_rng": torch.get_rng_state(),
             "numpy_rng": json.dumps(rng.bit_generator.state)}
    with atomic_path(path) as tmp:
        torch.save(state, tmp)


def export(path: Path, net: PixelPlayerNet, args: argparse.Namespace, cache: SoloCache, step: int,
           spent: float, world: int, validation: dict[str, float] | None = None) -> None:
    save_checkpoint(path, net, {
        "trained": True, "preset": args.preset, "steps": step, "batch": args.batch * world,
        "sources": args.sources, "pool": args.pool, "mask": args.mask, "crop_frames": args.crop,
        "label_weight": args.label_weight, "shared_weight": args.shared_weight,
        "augment": dataclasses.asdict(augmentation(args)),
        f"{args.clock}_minutes": round(spent / 60, 1), "processes": world,
        "data": f"{len(cache) - args.val} solos: {cache.meta['source']} ({', '.join(cache.meta['instruments'])})",
        **({"validation": validation} if validation else {}),
    })


def augmentation(args: argparse.Namespace) -> Augment:
    return Augment(gain_db=args.gain_db, shrink=args.shrink, flip=args.flip, semitones=args.semitones,
                   eq_db=args.eq_db)


@torch.no_grad()
def validate(model: MixAndSeparate, mixer: Mixer, args: argparse.Namespace, length: int, amp: bool) -> dict[str, float]:
    """Mean losses over fixed mixtures of the held-out solos (no augmentation but gains)."""
    rng = np.random.default_rng([args.seed, 999])
    model.net.eval()
    sums: dict[str, float] = {}
    batches = 8
    for i in range(batches):
        n = args.sources[i % len(args.sources)]
        pool = min(args.pool or args.batch * n, len(mixer))
        batch = mixer.draw(rng, args.batch, n, args.video_frames, pool, length, Augment(args.gain_db))
        with torch.autocast(mixer.device.type, dtype=torch.bfloat16, enabled=amp):
            losses = model(**batch)
        for k, v in losses.items():
            sums[k] = sums.get(k, 0.0) + float(v) / batches
    model.net.train()
    return sums


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("out", type=Path, help="run folder: state, model, logs")
    p.add_argument("--preset", default="lite", choices=sorted(PRESETS))
    p.add_argument("--solos", type=Path, default=ROOT / ".cache" / "train" / "solos", help="solo cache folder")
    p.add_argument("--count", type=int, default=3000, help="solos to render into the cache")
    p.add_argument("--sizes", type=int, nargs="*", default=[], help="extra frame sizes to cache")
    p.add_argument("--index", type=Path, help="Sound-of-Pixels index CSV of real solo footage")
    p.add_argument("--from-pack", type=Path, help="unpack the solo cache from this pack (see --pack) if missing")
    p.add_argument("--pack", type=Path, help="write the solo cache as a pack here and exit")
    p.add_argument("--pack-quality", type=float, default=0.1, help="Vorbis quality (0-1) of a pack's audio")
    p.add_argument("--pack-views", type=int, nargs="+", default=[1], help="cached frames of each solo to pack")
    p.add_argument("--instruments", nargs="*", help="synthetic instruments to use (default: all)")
    p.add_argument("--workers", type=int, default=1, help="processes rendering or unpacking the cache")
    p.add_argument("--init", type=Path, help="start from this checkpoint's weights (fine-tuning)")
    p.add_argument("--k", type=int, help="features per pixel = audio components (default: the preset's); an "
                                         "--init checkpoint with fewer is widened to K (core/nets.py: widen)")
    p.add_argument("--widen-noise", type=float, default=0.1,
                   help="perturbation of the widened copies' weights, relative to each weight's spread")
    p.add_argument("--batch", type=int, default=8, help="mixtures per step and process")
    p.add_argument("--sources", type=int, nargs="+", default=[2, 3], help="N of a mixture, drawn per step")
    p.add_argument("--mask", choices=("ratio", "binary"), default="ratio")
    p.add_argument("--crop", type=int, default=None, help="train on this many spectrogram frames (random crop)")
    p.add_argument("--video-frames", type=int, default=1, help="frames per solo seen per step (of those cached)")
    p.add_argument("--pool", type=int, default=None,
                   help="distinct solos per step, shared by its mixtures (default: batch x N, none shared)")
    p.add_argument("--gain-db", type=float, default=6.0, help="random gain of each source, +-dB")
    p.add_argument("--shrink", type=float, default=0.5, help="probability of shrinking and squashing a solo's frames")
    p.add_argument("--flip", type=float, default=0.0, help="probability of mirroring a solo's frames")
    p.add_argument("--semitones", type=float, default=0.0, help="random pitch/tempo shift of each solo, +-semitones")
    p.add_argument("--eq-db", type=float, default=0.0, help="random smooth equaliser on each solo, up to +-dB")
    p.add_argument("--val", type=int, default=0, help="hold out the last VAL solos; keep model_best.pt by their loss")
    p.add_argument("--val-every", type=int, default=250)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--warmup", type=int, default=100)
    p.add_argument("--label-weight", type=float, default=0.1)
    p.add_argument("--shared-weight", type=float, default=0.0,
                   help="weight of the error (dB) of all sources clicked at once, their masks shared as the "
                        "engine shares them (core/nets.py: share); with it, model_best.pt is kept by this held-out error")
    p.add_argument("--amp", action="store_true",
                   help="bfloat16 autocast (always on for GPUs; also faster on CPUs with bfloat16 instructions)")
    p.add_argument("--steps", type=int, default=None, help="stop after this many steps")
    p.add_argument("--budget-minutes", type=float, default=None, help="stop after this much time on --clock")
    p.add_argument("--clock", choices=("cpu", "wall"), default="cpu",
                   help="what the budget counts: process CPU time (a shared or paused machine spends none) "
                        "or wall-clock time (GPUs)")
    p.add_argument("--stop-at", type=int, default=None,
                   help="pause at this step (the learning-rate schedule still spans the whole budget); resume later")
    p.add_argument("--save-every", type=int, default=50)
    p.add_argument("--snapshot-every", type=int, default=0, help="keep model_STEP.pt every so many steps")
    p.add_argument("--log-every", type=int, default=10)
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    if args.pack is None and args.steps is None and args.budget_minutes is None:
        p.error("give --steps or --budget-minutes")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    world, rank = int(os.environ.get("WORLD_SIZE", 1)), int(os.environ.get("RANK", 0))
    local = int(os.environ.get("LOCAL_RANK", 0))
    cuda = torch.cuda.is_available()
    device = torch.device("cuda", local) if cuda else torch.device("cpu")
    amp = cuda or args.amp
    if world > 1:
        dist.init_process_group("nccl" if cuda else "gloo")
        if cuda:
            torch.cuda.set_device(device)
    torch.set_num_threads(args.threads)
    torch.backends.cudnn.benchmark = True
    args.out.mkdir(parents=True, exist_ok=True)
    setup_logging(args.out, rank)

    config: ModelConfig = dataclasses.replace(PRESETS[args.preset], labels=NAMES,
                                              k=args.k or PRESETS[args.preset].k)
    if rank == 0:
        SoloCache.ensure(args.solos, args.count, [config.image_size, *args.sizes], args.seed, args.index,
                         args.instruments, args.workers, args.from_pack)
    if world > 1:
        dist.barrier()
    cache = SoloCache(args.solos)
    if args.pack:
        size = pack(cache, args.pack, args.count, args.pack_views, config.image_size, args.pack_quality)
        log.info("packed %d solos into %s: %.1f MB", min(args.count, len(cache)), args.pack, size / 1e6)
        return
    mixer = Mixer(cache, config.image_size, device, last=len(cache) - args.val)
    held_out = Mixer(cache, config.image_size, device, first=len(cache) - args.val) if args.val else None
    length = args.crop * config.hop if args.crop else config.window_samples
    augment = augmentation(args)

    torch.manual_seed(args.seed)  # identical initial weights on every rank
    net = PixelPlayerNet(config)
    if args.init:
        start = load_checkpoint(args.init).net
        if (old := start.config.k) != config.k:  # widen refuses to shrink, with a clear message
            start = widen(start, config.k, args.widen_noise, args.seed)
            log.info("widened %s from K = %d to %d", args.init, old, config.k)
        net.load_state_dict(start.state_dict())
    objective = MixAndSeparate(net, args.mask, args.crop, args.label_weight, args.shared_weight).to(device)
    optimiser = torch.optim.Adam(objective.parameters(), lr=args.lr)
    rng = np.random.default_rng([args.seed, rank])
    torch.manual_seed(args.seed * 1000 + rank)
    step, spent, best = 0, 0.0, math.inf
    state_path = args.out / "state.pt"
    if state_path.exists():
        state = torch.load(state_path, map_location=device, weights_only=True)
        net.load_state_dict(state["model"])
        optimiser.load_state_dict(state["optimiser"])
        step, spent, best = state["step"], state["spent_seconds"], state["best_validation"]
        torch.set_rng_state(state["torch_rng"])
        rng.bit_generator.state = json.loads(state["numpy_rng"])
        log.info("resumed from step %d (%.1f %s minutes)", step, spent / 60, args.clock)
    model = nn.parallel.DistributedDataParallel(objective) if world > 1 else objective
    log.info("preset %s: %.2f M parameters, %d solos (%d held out), batch %d x %d processes, device %s%s",
             args.preset, sum(p.numel() for p in net.parameters()) / 1e6, len(mixer), args.val, args.batch, world,
             device, " (bfloat16 autocast)" if amp else "")

    budget = (args.budget_minutes or math.inf) * 60
    clock = time.process_time if args.clock == "cpu" else time.perf_counter
    sums: dict[str, float] = {}
    last_scores: dict[str, float] | None = None  # the latest held-out scores, recorded in model.pt
    last, wall = clock(), time.perf_counter()
    curve = open(args.out / "curve.jsonl", "a") if rank == 0 else None
    max_steps = min(math.inf if args.steps is None else args.steps, math.inf if args.stop_at is None else args.stop_at)
    while step < max_steps and spent < budget:
        progress = max(step / args.steps if args.steps else 0.0, spent / budget)
        lr = learning_rate(args.lr, step, progress, args.warmup)
        for group in optimiser.param_groups:
            group["lr"] = lr
        n = int(args.sources[rng.integers(len(args.sources))])
        batch = mixer.draw(rng, args.batch, n, args.video_frames, args.pool, length, augment)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
            losses = model(**batch)
        optimiser.zero_grad(set_to_none=True)
        losses["total"].backward()  # bfloat16 autocast needs no loss scaling
        optimiser.step()
        step += 1
        now = clock()
        spent += now - last
        last = now
        if world > 1:  # every rank must see the same budget and learning rate
            shared = torch.tensor([spent], dtype=torch.float64, device=device)
            dist.all_reduce(shared, dist.ReduceOp.MAX)
            spent = float(shared)
        for k, v in losses.items():
            sums[k] = sums.get(k, 0.0) + v.item()
        if step % args.log_every == 0 and rank == 0:
            means = {k: v / args.log_every for k, v in sums.items()}
            rate = args.log_every * args.batch * world / (time.perf_counter() - wall)
            log.info("step %d  %s  lr %.2e  %.1f mixtures/s  %.1f %s min", step,
                     "  ".join(f"{k} {v:.4f}" for k, v in means.items()), lr, rate, spent / 60, args.clock)
            curve.write(json.dumps({"step": step, f"{args.clock}_minutes": round(spent / 60, 2), "lr": lr,
                                    **means}) + "\n")
            curve.flush()
            sums, wall = {}, time.perf_counter()
        if rank == 0 and held_out is not None and (step % args.val_every == 0 or step >= max_steps or spent >= budget):
            scores = last_scores = validate(objective, held_out, args, length, amp)
            log.info("step %d  validation  %s", step, "  ".join(f"{k} {v:.4f}" for k, v in scores.items()))
            curve.write(json.dumps({"step": step, "validation": scores}) + "\n")
            score = scores["shared_error_db" if args.shared_weight else "mask_clicked"]
            if score < best:
                best = score
                export(args.out / "model_best.pt", net, args, cache, step, spent, world, scores)
            last = clock()  # validation is not training time
        if rank == 0 and step % args.save_every == 0:
            save_state(state_path, objective, optimiser, step, spent, best, rng)
            export(args.out / "model.pt", net, args, cache, step, spent, world)
        if rank == 0 and args.snapshot_every and step % args.snapshot_every == 0:
            export(args.out / f"model_{step:06d}.pt", net, args, cache, step, spent, world)
    if rank == 0:
        save_state(state_path, objective, optimiser, step, spent, best, rng)
        export(args.out / "model.pt", net, args, cache, step, spent, world, last_scores)
        log.info("done: step %d, %.1f %s minutes, model in %s", step, spent / 60, args.clock, args.out / "model.pt")
    if world > 1:
        dist.destroy_process_group()


if __name__ == "__main__":
    main()
