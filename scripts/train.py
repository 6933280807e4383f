"""Mix-and-separate training of PixelPlayer (Zhao et al., "The Sound of Pixels", 2018).

    python scripts/train.py OUT [--preset lite] [--solos .cache/train/solos ...] [--count 3000]
                            [--budget-minutes 60 | --steps N] [--index real.csv] [--init model.pt]
    python scripts/train.py OUT --preset real --backbone backbone.pt --freeze-backbone \\
                            --init-audio models/pixelplayer.pt --solos EMOJI REAL --solo-weights 0.3 0.7 ...
    torchrun --nproc_per_node 4 scripts/train.py OUT ...      # several GPUs (DistributedDataParallel)

Solos are rendered once into a cache folder (``pixelplayer_blender/training/cache.py``), synthetic by
default, or cut from real footage listed in a Sound-of-Pixels index CSV (``--index``); further caches
(built elsewhere, e.g. real photos with real recordings) join with ``--solos A B --solo-weights``.
``--pack`` writes a cache as a compact pack (Vorbis + JPEG) to carry to a GPU machine, ``--from-pack``
unpacks them there. Caches are held on the training device; every step mixes N = 2 or 3 random solos
of distinct instruments at random gains, with optional pitch, equaliser, mirror and shrink
augmentation (``training/mixing.py``), and scores them with ``training/objective.py``; the run itself
is ``training/trainer.py``. OUT receives ``state.pt`` (a run resumes from it), ``model.pt``,
``train.log`` and ``curve.jsonl``. The budget is a number of steps, or minutes (``--budget-minutes``)
of process CPU time (``--clock cpu``: a machine shared with other work, or a paused process, spends
none of it) or of wall-clock time (``--clock wall``, for GPUs). With ``--val N`` the last N solos of
each cache are held out and ``model_best.pt`` keeps the weights with the lowest held-out mask loss.
"""
from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # a plain checkout without the package installed (a GPU machine)

from pixelplayer_blender.core.config import PRESETS  # noqa: E402
from pixelplayer_blender.training.cache import SoloCache, pack  # noqa: E402
from pixelplayer_blender.training.trainer import Trainer  # noqa: E402

log = logging.getLogger("train")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("out", type=Path, help="run folder: state, model, logs")
    p.add_argument("--preset", default="lite", choices=sorted(PRESETS))
    p.add_argument("--solos", type=Path, nargs="+", default=[ROOT / ".cache" / "train" / "solos"],
                   help="solo cache folders; the first is rendered (or unpacked) if missing, the others must exist")
    p.add_argument("--solo-weights", type=float, nargs="+",
                   help="share of the steps whose mixtures come from each cache (default: equal)")
    p.add_argument("--count", type=int, default=3000, help="solos to render into the first cache")
    p.add_argument("--sizes", type=int, nargs="*", default=[], help="extra frame sizes to cache")
    p.add_argument("--index", type=Path, help="Sound-of-Pixels index CSV of real solo footage")
    p.add_argument("--from-pack", type=Path, nargs="+", default=[],
                   help="unpack the solo caches, in --solos order, from these packs (see --pack) where missing")
    p.add_argument("--pack", type=Path, help="write the solo cache as a pack here and exit")
    p.add_argument("--pack-quality", type=float, default=0.1, help="Vorbis quality (0-1) of a pack's audio")
    p.add_argument("--pack-views", type=int, nargs="+", default=[1], help="cached frames of each solo to pack")
    p.add_argument("--pack-seconds", type=float, help="pack only this many central seconds of each solo's sound")
    p.add_argument("--instruments", nargs="*", help="synthetic instruments to use (default: all)")
    p.add_argument("--workers", type=int, default=1, help="processes rendering or unpacking the cache")
    p.add_argument("--init", type=Path, help="start from this checkpoint's weights (fine-tuning)")
    p.add_argument("--backbone", type=Path, help="ImageNet weights for the video trunk (scripts/convert_backbone.py)")
    p.add_argument("--freeze-backbone", action="store_true", help="keep the video trunk's weights as they are")
    p.add_argument("--backbone-lr", type=float, default=1.0,
                   help="the video trunk's learning rate, as a share of --lr (fine-tuning pretrained weights gently)")
    p.add_argument("--freeze-audio", action="store_true",
                   help="keep the U-Net's weights and batch-norm statistics as they are (no backward pass through it)")
    p.add_argument("--init-audio", type=Path,
                   help="start the U-Net, synthesizer and label-head rows of shared names from this checkpoint")
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
    p.add_argument("--val", type=int, default=0,
                   help="hold out the last VAL solos of each cache; keep model_best.pt by their loss")
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
    if len(args.from_pack) > len(args.solos):
        p.error(f"--from-pack: {len(args.from_pack)} packs for {len(args.solos)} solo caches")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.pack:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
        size = PRESETS[args.preset].image_size
        cache = SoloCache.ensure(args.solos[0], args.count, [size, *args.sizes], args.seed, args.index,
                                 args.instruments, args.workers, next(iter(args.from_pack), None))
        seconds = args.pack_seconds
        nbytes = pack(cache, args.pack, args.count, args.pack_views, size, args.pack_quality,
                      samples=round(seconds * PRESETS[args.preset].sample_rate) if seconds else None)
        log.info("packed %d solos into %s: %.1f MB", min(args.count, len(cache)), args.pack, nbytes / 1e6)
        return
    Trainer(args).run()


if __name__ == "__main__":
    main()
