"""Average the weights of checkpoints of one configuration (a "model soup").

    python scripts/average.py OUT.pt A.pt B.pt [...] [--weights 0.7 0.3]

Legs fine-tuned from one starting checkpoint stay close enough in weight space that their
mean is a model too, often better than either; a weighted mean moves along the line between
them (fine-tuned and starting weights: a trade between what each does well).  Floating-point tensors are averaged,
integer buffers (counters) are taken from the first; the metadata is the first's, with the
averaged files listed and its held-out scores and instrument prototypes dropped (they were the
first's alone; ``scripts/prototypes.py`` computes the mean's).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from pixelplayer_blender.core.checkpoint import load_checkpoint, save_checkpoint  # noqa: E402
from pixelplayer_blender.core.errors import PixelPlayerError  # noqa: E402


def average(out: Path, paths: list[Path], weights: list[float] | None = None) -> Path:
    """Write the (``weights``-weighted) mean of the checkpoints' weights to ``out``; checkpoints of
    another configuration are refused."""
    weights = weights or [1.0] * len(paths)
    if len(weights) != len(paths) or min(weights) < 0 or sum(weights) <= 0:
        raise PixelPlayerError(f"need one non-negative weight per checkpoint, not {weights} for {len(paths)}")
    share = torch.tensor(weights, dtype=torch.float64) / sum(weights)
    models = [load_checkpoint(p) for p in paths]
    first = models[0]
    for path, model in zip(paths[1:], models[1:]):
        if model.net.config != first.net.config:
            raise PixelPlayerError(f"{path} has another configuration than {paths[0]}: only like models average")
    states = [m.net.state_dict() for m in models]
    mean = {k: torch.einsum("n,n...->...", share, torch.stack([s[k].double() for s in states])).to(v.dtype)
            if v.is_floating_point() else v for k, v in states[0].items()}
    first.net.load_state_dict(mean)
    dropped = ("validation", "engine_version", "prototypes")  # the first's alone: scripts/prototypes.py remakes them
    metadata = {k: v for k, v in first.metadata.items() if k not in dropped}
    metadata["averaged"] = [str(p) for p in paths]
    if len(set(weights)) > 1:
        metadata["weights"] = [round(float(w), 4) for w in share]
    return save_checkpoint(out, first.net, metadata)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("out", type=Path)
    p.add_argument("checkpoints", type=Path, nargs="+")
    p.add_argument("--weights", type=float, nargs="+", help="one per checkpoint (default: equal)")
    args = p.parse_args(argv)
    try:
        print(f"wrote {average(args.out, args.checkpoints, args.weights)}")
    except PixelPlayerError as error:
        sys.exit(f"error: {error}")


if __name__ == "__main__":
    main()
