"""Train a checkpoint's refit of simultaneous picks (``training/refit.py``).

    python scripts/train_refit.py CHECKPOINT RAW OUT [--steps 3000] [--mixtures 4000] [--step 0.5] [--error-db 0]

RAW holds the sources of ``training/sources.toml`` as ``python -m pixelplayer_blender.training.build extract``
writes them; only the train sources' recordings and soundfonts are played.  The rest of the model is unchanged.
"""
from __future__ import annotations

import argparse
import dataclasses
import logging
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from pixelplayer_blender.training.refit import RefitSettings, refit_checkpoint  # noqa: E402


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    for name in ("checkpoint", "raw", "out"):
        p.add_argument(name, type=Path)
    for field in dataclasses.fields(RefitSettings):  # --rounds, --mixtures, ..., --dense
        p.add_argument(f"--{field.name.replace('_', '-')}", type=int if field.type == "int" else float,
                       default=field.default)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    torch.set_num_threads(args.threads)
    settings = RefitSettings(**{f.name: getattr(args, f.name) for f in dataclasses.fields(RefitSettings)})
    print(refit_checkpoint(args.checkpoint, args.raw, args.out, settings, args.seed))


if __name__ == "__main__":
    main()
