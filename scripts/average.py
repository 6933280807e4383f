"""Average the weights of checkpoints of one configuration (a "model soup").

    python scripts/average.py OUT.pt A.pt B.pt [...] [--weights 0.7 0.3] [--parts audio synth]

Legs fine-tuned from one starting checkpoint stay close enough in weight space that their
mean is a model too, often better than either; a weighted mean moves along the line between
them (fine-tuned and starting weights: a trade between what each does well).  Floating-point tensors are averaged,
integer buffers (counters) are taken from the first; the metadata is the first's, with the
averaged files listed and its held-out scores and instrument prototypes dropped (they were the
first's alone; ``scripts/prototypes.py`` computes the mean's).

``--parts`` averages only those networks (``audio``, ``synth``, ``video``, ``label_head``) and keeps
the first's others, so a fine-tuned model whose video net differs from the one it started from can
still move its audio side back towards that start.  The others then need only the same spectral
front-end and those networks' shapes.  The prototypes stay the first's when the video nets differ; when every
checkpoint has the same video net and keeps prototypes of the same names (legs of ``scripts/tune_names.py``,
whose queries were tuned with the audio side), they are averaged with the same weights, as logits.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from pixelplayer_blender.core.checkpoint import load_checkpoint, save_checkpoint  # noqa: E402
from pixelplayer_blender.core.errors import PixelPlayerError  # noqa: E402


FRONT_END = ("sample_rate", "n_fft", "hop", "frames", "log_bins", "k")  # what the tensors' shapes do not show


def averaged_keys(paths: list[Path], states: list[dict], configs: list, parts: list[str] | None) -> list[str]:
    """The state keys to average: all, or those of ``parts``; raises unless every checkpoint has them alike."""
    if parts is None:
        for path, config in zip(paths[1:], configs[1:]):
            if config != configs[0]:
                raise PixelPlayerError(f"{path} has another configuration than {paths[0]}: only like models average")
        return list(states[0])
    known = sorted({k.split(".")[0] for k in states[0]})
    if unknown := set(parts) - set(known):
        raise PixelPlayerError(f"no network called {sorted(unknown)}; a checkpoint has {', '.join(known)}")
    keys = [k for k in states[0] if k.split(".")[0] in parts]
    for path, state, config in zip(paths[1:], states[1:], configs[1:]):
        front = [f for f in FRONT_END if getattr(config, f) != getattr(configs[0], f)]
        unlike = [k for k in keys if k not in state or state[k].shape != states[0][k].shape]
        if front or unlike:
            raise PixelPlayerError(f"{path} differs from {paths[0]} in {', '.join(front + unlike[:3])}: "
                                   "only like networks average")
    return keys


def same_video(states: list[dict]) -> bool:
    """Whether every state has the first's video net, weight for weight."""
    keys = [k for k in states[0] if k.split(".")[0] == "video"]
    return all(k in s and s[k].shape == states[0][k].shape and torch.equal(s[k], states[0][k])
               for s in states[1:] for k in keys)


def mean_prototypes(found: list[dict], share: torch.Tensor) -> dict[str, list[float]]:
    """The ``share``-weighted mean of prototypes (features in (0, 1)) of the same names, taken as logits."""
    def logits(values: list[float]) -> torch.Tensor:
        return torch.logit(torch.tensor(values, dtype=torch.float64).clamp(1e-4, 1 - 1e-4))

    return {name: [round(x, 5) for x in torch.sigmoid(sum(w * logits(f[name]) for w, f in zip(share, found))).tolist()]
            for name in found[0]}


def average(out: Path, paths: list[Path], weights: list[float] | None = None,
            parts: list[str] | None = None) -> Path:
    """Write the (``weights``-weighted) mean of the checkpoints' weights (of ``parts`` alone, if given)
    to ``out``; checkpoints that differ where they are averaged are refused."""
    weights = weights or [1.0] * len(paths)
    if len(weights) != len(paths) or min(weights) < 0 or sum(weights) <= 0:
        raise PixelPlayerError(f"need one non-negative weight per checkpoint, not {weights} for {len(paths)}")
    share = torch.tensor(weights, dtype=torch.float64) / sum(weights)
    models = [load_checkpoint(p) for p in paths]
    first = models[0]
    states = [m.net.state_dict() for m in models]
    mean = dict(states[0])
    for k in averaged_keys(paths, states, [m.net.config for m in models], parts):
        if mean[k].is_floating_point():
            mean[k] = torch.einsum("n,n...->...", share, torch.stack([s[k].double() for s in states])).to(mean[k].dtype)
    first.net.load_state_dict(mean)
    # The first's alone (and an earlier soup's record); scripts/prototypes.py remakes the prototypes, which only
    # the video net's features make.
    dropped = ("validation", "engine_version", "averaged", "averaged_parts", "weights") \
        + (("prototypes",) if parts is None or "video" in parts else ())
    metadata = {k: v for k, v in first.metadata.items() if k not in dropped}
    found = [m.metadata.get("prototypes") for m in models]
    if parts is not None and "video" not in parts and all(found) and all(set(f) == set(found[0]) for f in found) \
            and same_video(states):
        metadata["prototypes"] = mean_prototypes(found, share)
    metadata["averaged"] = [str(p) for p in paths]
    if parts is not None:
        metadata["averaged_parts"] = list(parts)
    if len(set(weights)) > 1:
        metadata["weights"] = [round(float(w), 4) for w in share]
    return save_checkpoint(out, first.net, metadata)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("out", type=Path)
    p.add_argument("checkpoints", type=Path, nargs="+")
    p.add_argument("--weights", type=float, nargs="+", help="one per checkpoint (default: equal)")
    p.add_argument("--parts", nargs="+", help="average only these networks, keeping the first's others")
    args = p.parse_args(argv)
    try:
        print(f"wrote {average(args.out, args.checkpoints, args.weights, args.parts)}")
    except PixelPlayerError as error:
        sys.exit(f"error: {error}")


if __name__ == "__main__":
    main()
