"""How clearly the tagger usually hears each instrument: the level a clip's score is read against.

``audibility`` plays phrases of every training instrument in mixtures with one or two others, at
levels +-6 dB apart as training mixes them, and keeps the median of the tagger's score for it
(``core.audiotag.Heard``).  In such mixtures YAMNet scores many instruments faintly (cello, double
bass, sitar: 0.001-0.003), yet far above what they score where they do not play (about 0.0003), so
a level counts from :data:`FLOOR` on, where it is also :data:`CLEAR` times that.  An instrument
heard more faintly, or no better when it plays than when it does not, keeps 0, "unknown": its score
never makes a player count as silent.

    python -m pixelplayer_blender.training.hearing CHECKPOINT RAW OUT

measures them anew for a checkpoint that has a tagger (``scripts/convert_yamnet.py --sounds RAW`` does
when it adds one).
"""
from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

import numpy as np
import torch

from ..core.audiotag import Heard
from ..core.checkpoint import load_checkpoint, save_checkpoint

if TYPE_CHECKING:
    from .realsolo import Perform
FLOOR = 0.0005  # a usual score under this is YAMNet's noise, not a level
CLEAR = 2.0  # and it must be this many times the score the instrument gets where it does not play
log = logging.getLogger(__name__)


@torch.no_grad()
def audibility(heard: Heard, perform: Perform, labels: Sequence[int], rate: int, rng: np.random.Generator,
               mixtures: int = 48, samples: int = 65536) -> dict[int, float]:
    """Per label of ``labels``: the median score ``heard`` gives it in ``mixtures`` mixtures of one of its
    phrases with one or two phrases of other labels; 0 under :data:`FLOOR` or unless it is :data:`CLEAR`
    times its median score in the other labels' mixtures that it is not in."""
    scores, played = [], []
    for label in labels:
        others = [o for o in labels if o != label]
        mixes = []
        for _ in range(mixtures):
            players = [label, *rng.choice(others, int(rng.integers(1, 3)), replace=False)]
            gains = 10 ** (rng.uniform(-6, 6, len(players)) / 20)
            mixes.append(sum(g * perform(int(p), rng, samples)[:samples] for g, p in zip(gains, players)))
            played.append({int(p) for p in players})
        scores.append(heard(torch.from_numpy(np.stack(mixes).astype(np.float32)), rate))
    every = torch.cat(scores)  # (mixtures of all labels, labels)
    levels = {}
    for i, label in enumerate(labels):
        level = float(scores[i][:, label].median())
        absent = torch.tensor([label not in players for players in played])
        without = float(every[absent, label].median()) if absent.any() else 0.0
        levels[label] = level if level >= FLOOR and level > CLEAR * without else 0.0
        log.info("%s: usually heard at %.4f, at %.4f where it does not play", label, level, without)
    return levels


def hear_checkpoint(checkpoint: Path, raw: Path, out: Path, mixtures: int = 48, seed: int = 0) -> dict[str, float]:
    """Write ``checkpoint`` with its tagger's usual level of each instrument that the training recordings
    (``raw``: the extracted sources of ``sources.toml``) play."""
    from .realsolo import train_phrases  # needs the recordings' decoders, only here

    model = load_checkpoint(checkpoint)
    heard, names = model.net.heard, model.net.config.labels
    if heard is None:
        raise SystemExit(f"{checkpoint} has no tagger")
    perform, playable, rate = train_phrases(raw, len(names))
    levels = audibility(heard, perform, playable, rate, np.random.default_rng(seed), mixtures)
    heard.audible.zero_()
    for label, level in levels.items():
        heard.audible[label] = level
    found = {names[label]: level for label, level in levels.items()}
    save_checkpoint(out, model.net, {**model.metadata, "audible": found})
    return found


def report(levels: dict[str, float]) -> str:
    """The levels :func:`hear_checkpoint` found, on one line."""
    return "usual levels: " + ", ".join(f"{name} {level:.4f}" for name, level in levels.items())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkpoint", type=Path)
    parser.add_argument("raw", type=Path, help="the extracted training sources (training.build extract)")
    parser.add_argument("out", type=Path)
    args = parser.parse_args(argv)
    print(report(hear_checkpoint(args.checkpoint, args.raw, args.out)))


if __name__ == "__main__":
    main()
