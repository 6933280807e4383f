"""Mix-and-separate training of PixelPlayer (Zhao et al., "The Sound of Pixels", 2018).

    python scripts/train.py OUT [--preset lite] [--solos .cache/train/solos] [--count 3000]
                            [--budget-minutes 60 | --steps N] [--index real.csv] [--init model.pt]
    torchrun --nproc_per_node 4 scripts/train.py OUT ...      # several GPUs (DistributedDataParallel)

Solos are rendered once into a cache folder (audio float16, frames uint8 at each requested size,
boxes, labels; memory-mapped), synthetic by default (``scripts/trainingdata``), or cut from real
footage listed in a Sound-of-Pixels index CSV (``--index``). Every step mixes N = 2 or 3 random solos
of distinct instruments at random gains. Per source: its frames -> video net -> per-pixel features ->
max over frames -> (a) max over space (the paper) and (b) the 3x3 cells around the instrument's box
centre (what a click selects) -> synthesizer with the mixture's U-Net components -> mask logits, with
the paper's log-magnitude-weighted BCE against the ratio (or binary) mask, plus cross-entropy of the
label head on both features. OUT receives ``state.pt`` (resumable: model, optimiser, step, RNG
states), ``model.pt`` (an engine checkpoint), ``train.log`` and ``curve.jsonl``; a run resumes from
``OUT/state.pt`` when it exists. The budget is a number of steps, or on CPUs the process CPU time
(``--budget-minutes``: a machine shared with other work, or a paused process, spends none of it).
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import math
import multiprocessing
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F
from PIL import Image
from torch import nn

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "scripts")]

from pixelplayer_blender.core.checkpoint import load_checkpoint, save_checkpoint  # noqa: E402
from pixelplayer_blender.core.config import PRESETS, ModelConfig  # noqa: E402
from pixelplayer_blender.core.files import atomic_path  # noqa: E402
from pixelplayer_blender.core.nets import PixelPlayerNet  # noqa: E402
from pixelplayer_blender.core.spectral import FrontEnd  # noqa: E402
from trainingdata import NAMES, IndexSolos, Solo, SoloGenerator  # noqa: E402

log = logging.getLogger("train")


# ----------------------------------------------------------------------------------------------- solo cache

class SoloCache:
    """Rendered solos on disk, memory-mapped: ``audio`` (n, samples) float16, ``frames[size]``
    (n, V, size, size, 3) uint8, ``boxes`` (n, V, 4) as fractions of the frame, ``labels``, ``silent``."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.meta = json.loads((folder / "meta.json").read_text())
        self.audio = np.load(folder / "audio.npy", mmap_mode="r")
        self.frames = {s: np.load(folder / f"frames{s}.npy", mmap_mode="r") for s in self.meta["sizes"]}
        self.boxes = np.load(folder / "boxes.npy")
        self.labels = np.load(folder / "labels.npy")
        self.silent = np.load(folder / "silent.npy")

    def __len__(self) -> int:
        return len(self.labels)

    @classmethod
    def ensure(cls, folder: Path, count: int, sizes: list[int], seed: int = 0, index: Path | None = None,
               instruments: list[str] | None = None, workers: int = 1) -> "SoloCache":
        """The cache in ``folder``, rendered first if missing or lacking a frame size."""
        meta = folder / "meta.json"
        if meta.exists():
            found = json.loads(meta.read_text())
            if set(sizes) <= set(found["sizes"]) and found["count"] >= count:
                return cls(folder)
            sizes = sorted(set(sizes) | set(found["sizes"]))
            count = max(count, found["count"])
            meta.unlink()
        _render_cache(folder, count, sorted(set(sizes)), seed, index, instruments, workers)
        return cls(folder)


_SOURCE: SoloGenerator | IndexSolos | None = None


def _init_worker(size: int, index: str | None, instruments: list[str] | None) -> None:
    global _SOURCE
    torch.set_num_threads(1)
    _SOURCE = IndexSolos(index, image_size=size) if index else SoloGenerator(image_size=size, instruments=instruments)


def _render_one(job: tuple[int, int]) -> Solo:
    seed, i = job
    if isinstance(_SOURCE, SoloGenerator):
        return _SOURCE.render(seed + i)
    return _SOURCE.draw(np.random.default_rng([seed, i]))


def _render_cache(folder: Path, count: int, sizes: list[int], seed: int, index: Path | None,
                  instruments: list[str] | None, workers: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    render = max(sizes)
    init = (render, str(index) if index else None, instruments)
    log.info("rendering %d solos at %d px into %s (%d workers)", count, render, folder, workers)
    arrays: dict[str, np.ndarray] = {}
    start = time.perf_counter()
    with multiprocessing.get_context("spawn").Pool(workers, _init_worker, init) as pool:
        for i, solo in enumerate(pool.imap(_render_one, [(seed, i) for i in range(count)], chunksize=8)):
            if not arrays:
                v = len(solo.frames)
                new = np.lib.format.open_memmap
                arrays["audio"] = new(folder / "audio.npy", "w+", np.float16, (count, solo.audio.size))
                for s in sizes:
                    arrays[f"frames{s}"] = new(folder / f"frames{s}.npy", "w+", np.uint8, (count, v, s, s, 3))
                arrays.update(boxes=np.zeros((count, v, 4), np.float32), labels=np.zeros(count, np.int64),
                              silent=np.zeros(count, bool))
            arrays["audio"][i] = solo.audio
            for s in sizes:
                arrays[f"frames{s}"][i] = solo.frames if s == render else np.stack(
                    [np.asarray(Image.fromarray(f).resize((s, s), Image.LANCZOS)) for f in solo.frames])
            arrays["boxes"][i] = solo.boxes / render
            arrays["labels"][i], arrays["silent"][i] = solo.label, solo.silent
            if (i + 1) % 250 == 0:
                log.info("rendered %d/%d solos (%.0f s)", i + 1, count, time.perf_counter() - start)
    for name in ("boxes", "labels", "silent"):
        np.save(folder / f"{name}.npy", arrays.pop(name))
    for a in arrays.values():
        a.flush()
    (folder / "meta.json").write_text(json.dumps({
        "count": count, "sizes": sizes, "seed": seed, "source": str(index) if index else "synthetic FluidR3_GM",
        "instruments": instruments or list(NAMES)}))


# -------------------------------------------------------------------------------------------- mixing batches

def draw_batch(cache: SoloCache, rng: np.random.Generator, batch: int, n_sources: int, image_size: int,
               video_frames: int, gain_db: float, pool: int | None = None,
               shrink_prob: float = 0.0) -> dict[str, torch.Tensor]:
    """``batch`` mixtures of ``n_sources`` solos with distinct known labels, at random gains; a solo's
    frames are shrunk (see ``shrink``) with probability ``shrink_prob``.

    The solos come from a pool of ``pool`` distinct solos (default ``batch * n_sources``: each used
    once); a smaller pool lets mixtures share solos, so the video net runs on fewer frames per mixture.
    """
    pool = pool or batch * n_sources
    for _ in range(100):
        chosen = rng.choice(len(cache), pool, replace=False)
        labels = cache.labels[chosen]
        if np.sum(labels < 0) + len(set(labels[labels >= 0])) >= n_sources:
            break
    else:
        raise ValueError(f"pools of {pool} solos hold fewer than {n_sources} distinct instruments")
    members = np.empty((batch, n_sources), np.int64)
    for b in range(batch):
        picked: list[int] = []
        for j in rng.permutation(pool):
            if len(picked) < n_sources and (labels[j] < 0 or labels[j] not in labels[picked]):
                picked.append(int(j))
        members[b] = picked
    gains = 10 ** (rng.uniform(-gain_db, gain_db, members.shape) / 20)
    audio = cache.audio[chosen].astype(np.float32)[members] * gains[..., None].astype(np.float32)
    v = cache.boxes.shape[1]
    picks = np.sort(np.stack([rng.choice(v, video_frames, replace=False) for _ in chosen]), axis=1)
    frames = np.stack([cache.frames[image_size][i, p] for i, p in zip(chosen, picks)])
    boxes = cache.boxes[chosen, picks[:, 0]]
    centre = np.stack([(boxes[:, 1] + boxes[:, 3]) / 2, (boxes[:, 0] + boxes[:, 2]) / 2], 1)  # (y, x) fractions
    frames = torch.from_numpy(frames).permute(0, 1, 4, 2, 3).contiguous()
    for j in np.flatnonzero(rng.random(pool) < shrink_prob):
        frames[j], centre[j] = shrink(frames[j], centre[j], rng)
    return {
        "audio": torch.from_numpy(audio),  # (batch, n_sources, samples)
        "members": torch.from_numpy(members),  # (batch, n_sources) indices into the pool
        "frames": frames,  # (pool, V, 3, S, S)
        "centre": torch.from_numpy(centre.astype(np.float32)),  # (pool, 2)
        "labels": torch.from_numpy(labels),  # (pool,)
    }


def shrink(frames: torch.Tensor, centre: np.ndarray, rng: np.random.Generator) -> tuple[torch.Tensor, np.ndarray]:
    """Scale ``(V, 3, S, S)`` frames down (to 0.6-1) and narrower (by 0.55-1, as a 16:9 video squashed to a
    square), at a random place, edges replicated around; ``centre`` (y, x) follows."""
    size = frames.shape[-1]
    scale = rng.uniform(0.6, 1.0)
    h, w = round(size * scale), round(size * scale * rng.uniform(0.55, 1.0))
    top, left = int(rng.integers(size - h + 1)), int(rng.integers(size - w + 1))
    small = F.interpolate(frames.float(), (h, w), mode="bilinear", antialias=True, align_corners=False)
    padded = F.pad(small, (left, size - w - left, top, size - h - top), mode="replicate")
    moved = np.array([(top + centre[0] * h) / size, (left + centre[1] * w) / size])
    return padded.round().clamp(0, 255).to(torch.uint8), moved


# ------------------------------------------------------------------------------------------------- objective

class MixAndSeparate(nn.Module):
    """The training objective around a :class:`PixelPlayerNet`; one forward pass = one step's losses."""

    def __init__(self, net: PixelPlayerNet, mask: str = "ratio", crop: int | None = None, label_weight: float = 0.1):
        super().__init__()
        self.net = net
        self.front = FrontEnd(net.config)
        self.mask = mask
        self.crop = crop
        self.label_weight = label_weight

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
            logits = torch.stack([self.net.synth(feature[members[:, i]], comps) for i in range(n)], 1).float()
            bce = F.binary_cross_entropy_with_logits(logits, target, reduction="none")
            losses[f"mask_{name}"] = (bce * weight).sum() / weight.expand_as(bce).sum()
            label_logits = self.net.label_logits(feature)
            if label_logits is not None and (labels >= 0).any():
                losses[f"label_{name}"] = F.cross_entropy(label_logits.float(), labels, ignore_index=-1)
        losses["total"] = sum(v * (self.label_weight if k.startswith("label") else 0.5) for k, v in losses.items())
        return losses


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


def save_state(path: Path, objective: MixAndSeparate, optimiser: torch.optim.Optimizer, scaler, step: int,
               cpu_seconds: float, rng: np.random.Generator) -> None:
    state = {"model": objective.net.state_dict(), "optimiser": optimiser.state_dict(), "scaler": scaler.state_dict(),
             "step": step, "cpu_seconds": cpu_seconds, "torch_rng": torch.get_rng_state(),
             "numpy_rng": json.dumps(rng.bit_generator.state)}
    with atomic_path(path) as tmp:
        torch.save(state, tmp)


def export(path: Path, net: PixelPlayerNet, args: argparse.Namespace, cache: SoloCache, step: int,
           cpu_seconds: float, world: int) -> None:
    save_checkpoint(path, net, {
        "trained": True, "preset": args.preset, "steps": step, "batch": args.batch * world,
        "sources": args.sources, "pool": args.pool, "mask": args.mask, "crop_frames": args.crop,
        "shrink": args.shrink,
        "cpu_minutes": round(cpu_seconds / 60, 1), "processes": world,
        "data": f"{len(cache)} solos: {cache.meta['source']} ({', '.join(cache.meta['instruments'])})",
    })


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("out", type=Path, help="run folder: state, model, logs")
    p.add_argument("--preset", default="lite", choices=sorted(PRESETS))
    p.add_argument("--solos", type=Path, default=ROOT / ".cache" / "train" / "solos", help="solo cache folder")
    p.add_argument("--count", type=int, default=3000, help="solos to render into the cache")
    p.add_argument("--sizes", type=int, nargs="*", default=[], help="extra frame sizes to cache")
    p.add_argument("--index", type=Path, help="Sound-of-Pixels index CSV of real solo footage")
    p.add_argument("--instruments", nargs="*", help="synthetic instruments to use (default: all)")
    p.add_argument("--workers", type=int, default=1, help="processes rendering the cache")
    p.add_argument("--init", type=Path, help="start from this checkpoint's weights (fine-tuning)")
    p.add_argument("--batch", type=int, default=8, help="mixtures per step and process")
    p.add_argument("--sources", type=int, nargs="+", default=[2, 3], help="N of a mixture, drawn per step")
    p.add_argument("--mask", choices=("ratio", "binary"), default="ratio")
    p.add_argument("--crop", type=int, default=None, help="train on this many spectrogram frames (random crop)")
    p.add_argument("--video-frames", type=int, default=1, help="frames per solo seen per step (of the cached 3)")
    p.add_argument("--pool", type=int, default=None,
                   help="distinct solos per step, shared by its mixtures (default: batch x N, none shared)")
    p.add_argument("--gain-db", type=float, default=6.0, help="random gain of each source, +-dB")
    p.add_argument("--shrink", type=float, default=0.5, help="probability of shrinking and squashing a solo's frames")
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--warmup", type=int, default=100)
    p.add_argument("--label-weight", type=float, default=0.1)
    p.add_argument("--steps", type=int, default=None, help="stop after this many steps")
    p.add_argument("--budget-minutes", type=float, default=None, help="stop after this much process CPU time")
    p.add_argument("--stop-at", type=int, default=None,
                   help="pause at this step (the learning-rate schedule still spans the whole budget); resume later")
    p.add_argument("--save-every", type=int, default=50)
    p.add_argument("--snapshot-every", type=int, default=0, help="keep model_STEP.pt every so many steps")
    p.add_argument("--log-every", type=int, default=10)
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    if args.steps is None and args.budget_minutes is None:
        p.error("give --steps or --budget-minutes")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    world, rank = int(os.environ.get("WORLD_SIZE", 1)), int(os.environ.get("RANK", 0))
    local = int(os.environ.get("LOCAL_RANK", 0))
    cuda = torch.cuda.is_available()
    device = torch.device("cuda", local) if cuda else torch.device("cpu")
    if world > 1:
        dist.init_process_group("nccl" if cuda else "gloo")
        if cuda:
            torch.cuda.set_device(device)
    torch.set_num_threads(args.threads)
    args.out.mkdir(parents=True, exist_ok=True)
    setup_logging(args.out, rank)

    config: ModelConfig = dataclasses.replace(PRESETS[args.preset], labels=NAMES)
    if rank == 0:
        SoloCache.ensure(args.solos, args.count, [config.image_size, *args.sizes], args.seed, args.index,
                         args.instruments, args.workers)
    if world > 1:
        dist.barrier()
    cache = SoloCache(args.solos)

    torch.manual_seed(args.seed)  # identical initial weights on every rank
    net = PixelPlayerNet(config)
    if args.init:
        net.load_state_dict(load_checkpoint(args.init).net.state_dict())
    objective = MixAndSeparate(net, args.mask, args.crop, args.label_weight).to(device)
    optimiser = torch.optim.Adam(objective.parameters(), lr=args.lr)
    scaler = torch.amp.GradScaler("cuda", enabled=cuda)
    rng = np.random.default_rng([args.seed, rank])
    torch.manual_seed(args.seed * 1000 + rank)
    step, cpu_seconds = 0, 0.0
    state_path = args.out / "state.pt"
    if state_path.exists():
        state = torch.load(state_path, map_location=device, weights_only=True)
        net.load_state_dict(state["model"])
        optimiser.load_state_dict(state["optimiser"])
        scaler.load_state_dict(state["scaler"])
        step, cpu_seconds = state["step"], state["cpu_seconds"]
        torch.set_rng_state(state["torch_rng"])
        rng.bit_generator.state = json.loads(state["numpy_rng"])
        log.info("resumed from step %d (%.1f CPU minutes)", step, cpu_seconds / 60)
    model = nn.parallel.DistributedDataParallel(objective) if world > 1 else objective
    log.info("preset %s: %.2f M parameters, %d solos, batch %d x %d processes, device %s", args.preset,
             sum(p.numel() for p in net.parameters()) / 1e6, len(cache), args.batch, world, device)

    budget = (args.budget_minutes or math.inf) * 60
    sums: dict[str, float] = {}
    clock, wall = time.process_time(), time.perf_counter()
    curve = open(args.out / "curve.jsonl", "a") if rank == 0 else None
    max_steps = min(math.inf if args.steps is None else args.steps, math.inf if args.stop_at is None else args.stop_at)
    while step < max_steps and cpu_seconds < budget:
        progress = max(step / args.steps if args.steps else 0.0, cpu_seconds / budget)
        lr = learning_rate(args.lr, step, progress, args.warmup)
        for group in optimiser.param_groups:
            group["lr"] = lr
        n = int(args.sources[rng.integers(len(args.sources))])
        batch = draw_batch(cache, rng, args.batch, n, config.image_size, args.video_frames, args.gain_db, args.pool,
                           args.shrink)
        batch = {k: v.to(device, non_blocking=True) for k, v in batch.items()}
        net.train()
        with torch.autocast(device.type, enabled=cuda):
            losses = model(**batch)
        optimiser.zero_grad(set_to_none=True)
        scaler.scale(losses["total"]).backward()
        scaler.step(optimiser)
        scaler.update()
        step += 1
        now = time.process_time()
        cpu_seconds += now - clock
        clock = now
        if world > 1:  # every rank must see the same budget and learning rate
            spent = torch.tensor([cpu_seconds], dtype=torch.float64, device=device)
            dist.all_reduce(spent, dist.ReduceOp.MAX)
            cpu_seconds = float(spent)
        for k, v in losses.items():
            sums[k] = sums.get(k, 0.0) + v.item()
        if step % args.log_every == 0 and rank == 0:
            means = {k: v / args.log_every for k, v in sums.items()}
            rate = args.log_every * args.batch * world / (time.perf_counter() - wall)
            log.info("step %d  %s  lr %.2e  %.2f mixtures/s  %.1f CPU min", step,
                     "  ".join(f"{k} {v:.4f}" for k, v in means.items()), lr, rate, cpu_seconds / 60)
            curve.write(json.dumps({"step": step, "cpu_minutes": round(cpu_seconds / 60, 2), "lr": lr, **means}) + "\n")
            curve.flush()
            sums, wall = {}, time.perf_counter()
        if rank == 0 and step % args.save_every == 0:
            save_state(state_path, objective, optimiser, scaler, step, cpu_seconds, rng)
            export(args.out / "model.pt", net, args, cache, step, cpu_seconds, world)
        if rank == 0 and args.snapshot_every and step % args.snapshot_every == 0:
            export(args.out / f"model_{step:06d}.pt", net, args, cache, step, cpu_seconds, world)
    if rank == 0:
        save_state(state_path, objective, optimiser, scaler, step, cpu_seconds, rng)
        export(args.out / "model.pt", net, args, cache, step, cpu_seconds, world)
        log.info("done: step %d, %.1f CPU minutes, model in %s", step, cpu_seconds / 60, args.out / "model.pt")
    if world > 1:
        dist.destroy_process_group()


if __name__ == "__main__":
    main()
