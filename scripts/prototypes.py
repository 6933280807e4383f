"""Add instrument prototypes to a checkpoint trained without them, so that named clicks follow names.

    python scripts/prototypes.py CHECKPOINT [CACHE ...] [--sounds RAW] [--out OUT] [--count 480] [--seed 0]

Each instrument's prototype is the mean clicked feature of its solos in the caches (as training
computes it for every checkpoint it writes); a named click (``pixelplayer separate --point
X,Y=violin``, the Blender pick's instrument menu) then uses it as its query.  A cache folder that is
missing or lacks the model's frame size is rendered first: synthetic solos, as ``scripts/train.py``
renders its first cache.  With ``--sounds RAW`` (the sources of ``training/sources.toml`` as
``python -m pixelplayer_blender.training.build extract`` writes them), every name the training
recordings play that still has no prototype (no photos, so no solos: cello, double bass) gets one
fitted to its sound: the feature whose mask best pulls its phrases out of mixtures.  Without caches
the checkpoint's own prototypes stay.  OUT defaults to CHECKPOINT (rewritten in place, atomically).
"""
from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from pixelplayer_blender.core.errors import PixelPlayerError  # noqa: E402
from pixelplayer_blender.training.prototypes import name_checkpoint  # noqa: E402


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("checkpoint", type=Path)
    p.add_argument("caches", type=Path, nargs="*")
    p.add_argument("--sounds", type=Path, metavar="RAW", help="fit prototypes from the training recordings here")
    p.add_argument("--out", type=Path, help="where to write the checkpoint (default: CHECKPOINT itself)")
    p.add_argument("--count", type=int, default=480, help="solos to render into a missing cache")
    p.add_argument("--seed", type=int, default=0, help="first seed of a rendered cache (0: the training stream)")
    p.add_argument("--per-label", type=int, default=24, help="solos of each instrument per cache")
    args = p.parse_args(argv)
    if not args.caches and args.sounds is None:
        p.error("give solo caches, --sounds RAW, or both")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    try:
        found = name_checkpoint(args.checkpoint, args.caches, args.out or args.checkpoint, args.count, args.seed,
                                args.per_label, args.sounds)
    except PixelPlayerError as error:
        sys.exit(f"error: {error}")
    print(f"wrote {args.out or args.checkpoint}: prototypes of {len(found)} instruments ({', '.join(found)})")


if __name__ == "__main__":
    main()
