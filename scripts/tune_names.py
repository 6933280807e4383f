"""Tune a checkpoint's audio side and prototypes to the names (``training/nametune.py``).

    python scripts/tune_names.py CHECKPOINT RAW OUT [--minutes 40] [--phrases 160] [--hold 1.0] [--lr 1e-4] [--silent 0.25]
        [--extra-silent 0.5] [--dense 0.7] [--steps N]

RAW holds the sources of ``training/sources.toml`` as ``python -m pixelplayer_blender.training.build extract``
writes them; only the train sources' recordings and soundfonts are played.  Each name's prototype learns to pull
its instrument's phrases out of mixtures of two or three, and the U-Net with it, held near where it started.
"""
from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from pixelplayer_blender.training.nametune import Settings, tune_checkpoint  # noqa: E402


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("checkpoint", type=Path)
    p.add_argument("raw", type=Path)
    p.add_argument("out", type=Path)
    p.add_argument("--minutes", type=float, default=40, help="wall-clock budget")
    p.add_argument("--phrases", type=int, default=160, help="phrases of each name in the pool")
    p.add_argument("--batch", type=int, default=Settings.batch)
    p.add_argument("--lr", type=float, default=Settings.lr, help="the U-Net's and the synthesizer's learning rate")
    p.add_argument("--hold", type=float, default=Settings.hold, help="weight keeping the components near the start")
    p.add_argument("--silent", type=float, default=Settings.silent,
                   help="chance that a mixture's last source is silent while its name is queried")
    p.add_argument("--extra-silent", type=float, default=Settings.extra_silent,
                   help="chance that a batch's mixtures gain one more player, seen but silent")
    p.add_argument("--dense", type=float, default=Settings.dense,
                   help="chance that a source plays on through its rests (a second phrase of its name over it)")
    p.add_argument("--steps", type=int, default=0, help="stop after so many steps (0: only the wall-clock budget)")
    p.add_argument("--snapshot-every", type=int, default=0, help="also write OUT_STEP.pt every so many steps")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    torch.set_num_threads(args.threads)
    settings = Settings(batch=args.batch, lr=args.lr, hold=args.hold, silent=args.silent,
                        extra_silent=args.extra_silent, dense=args.dense)
    print(tune_checkpoint(args.checkpoint, args.raw, args.out, args.minutes, args.phrases, settings,
                          args.snapshot_every, args.seed, args.steps))


if __name__ == "__main__":
    main()
