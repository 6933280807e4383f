"""Each instrument's prototype: the mean clicked feature of its training solos.

A named click (``--point X,Y=violin``, the Blender pick's instrument menu) uses the prototype of
that name as its query (``core/isolate.py: prototype``).  Training writes them into every
checkpoint it exports; ``name_checkpoint`` (``scripts/prototypes.py``) adds them to a checkpoint
trained without them.
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from ..core.checkpoint import load_checkpoint, save_checkpoint
from .cache import SoloCache
from .instruments import NAMES
from .mixing import Mixer
from .objective import MixAndSeparate


@torch.no_grad()
def instrument_prototypes(objective: MixAndSeparate, mixers: Sequence[Mixer], amp: bool = False,
                          per_label: int = 24) -> dict[str, list[float]]:
    """Each instrument's mean clicked feature over (up to ``per_label`` per cache of) its solos, their
    first cached frames clicked at the instrument's box centre (caches number instruments as ``NAMES``;
    those past the net's names are skipped); the net is left in evaluation mode."""
    net = objective.net
    net.eval()
    device = next(net.parameters()).device
    sums: dict[int, torch.Tensor] = {}
    counts: dict[int, int] = {}
    for mixer in mixers:
        for label in np.unique(mixer.labels[(mixer.labels >= 0) & (mixer.labels < len(net.config.labels))]):
            chosen = np.flatnonzero(mixer.labels == label)[:per_label]
            boxes = torch.as_tensor(mixer.boxes[chosen, 0], dtype=torch.float32, device=device)
            centres = torch.stack([boxes[:, 1] + boxes[:, 3], boxes[:, 0] + boxes[:, 2]], -1) / 2
            frames = mixer.frames[torch.as_tensor(chosen, device=device), :1].permute(0, 1, 4, 2, 3)
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
                clicked = objective.features(frames, centres)[1].float()
            sums[label] = sums.get(label, 0) + clicked.sum(0)
            counts[label] = counts.get(label, 0) + len(chosen)
    return {net.config.labels[i]: [round(x, 5) for x in (sums[i] / counts[i]).tolist()] for i in sorted(sums)}


def name_checkpoint(checkpoint: Path, caches: Sequence[Path], out: Path, count: int = 480, seed: int = 0,
                    per_label: int = 24) -> dict[str, list[float]]:
    """Write ``checkpoint`` with the prototypes of the solos of ``caches`` to ``out``; a cache missing is
    rendered first (``count`` synthetic solos from ``seed``), one lacking the model's frame size re-rendered."""
    model = load_checkpoint(checkpoint)
    size, names = model.net.config.image_size, tuple(model.net.config.labels)
    if names != NAMES[: len(names)]:
        raise SystemExit(f"{checkpoint} names its instruments otherwise than the training caches do")
    solos = [SoloCache.ensure(folder, 0 if (folder / "meta.json").exists() else count, [size], seed)
             for folder in caches]
    found = instrument_prototypes(MixAndSeparate(model.net), [Mixer(c, size, torch.device("cpu")) for c in solos],
                                  per_label=per_label)
    save_checkpoint(out, model.net, {**model.metadata, "prototypes": found,
                                     "prototypes_from": [c.meta["source"] for c in solos]})
    return found
