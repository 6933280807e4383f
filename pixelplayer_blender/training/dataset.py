"""Mix-and-separate training items: N solos, each with its frames, summed into one mixture."""

from __future__ import annotations

from collections.abc import Collection
from typing import Protocol

import numpy as np
import torch
from torch.utils.data import Dataset

from .solo import Solo


class SoloSource(Protocol):
    """Where solos come from: ``SoloGenerator`` (synthetic) or ``IndexSolos`` (real footage)."""

    def draw(self, rng: np.random.Generator, exclude: Collection[int] = ()) -> Solo: ...


class MixDataset(Dataset):
    """``length`` mix-and-separate items of ``n_sources`` solos with distinct labels.

    Item ``i`` of epoch ``e`` is a pure function of (``seed``, ``e``, ``i``); ``set_epoch`` gives
    fresh data each epoch. Tensors per item:

    - ``frames``: uint8 (N, n_frames, 3, size, size) RGB
    - ``audio``: float32 (N, samples), the sources; ``mixture``: float32 (samples,), their sum
    - ``labels``: int64 (N,); ``boxes``: float32 (N, n_frames, 4); ``silent``: bool (N,)

    Sources keep their own levels; if the sum would clip, every source is scaled down together.
    """

    def __init__(self, source: SoloSource, n_sources: int = 2, length: int = 100_000, seed: int = 0):
        if n_sources < 1:
            raise ValueError("n_sources must be at least 1")
        self.source = source
        self.n_sources = n_sources
        self.length = length
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        if not 0 <= index < self.length:
            raise IndexError(index)
        rng = np.random.default_rng([self.seed, self.epoch, index])
        solos: list[Solo] = []
        for _ in range(self.n_sources):
            solos.append(self.source.draw(rng, exclude={s.label for s in solos if s.label >= 0}))
        audio = np.stack([s.audio for s in solos])
        mixture = audio.sum(axis=0)
        peak = float(np.abs(mixture).max())
        if peak > 0.99:
            audio *= 0.99 / peak
            mixture = audio.sum(axis=0)
        return {
            "frames": torch.from_numpy(np.stack([s.frames for s in solos])).permute(0, 1, 4, 2, 3).contiguous(),
            "audio": torch.from_numpy(audio),
            "mixture": torch.from_numpy(mixture),
            "labels": torch.tensor([s.label for s in solos], dtype=torch.int64),
            "boxes": torch.from_numpy(np.stack([s.boxes for s in solos])),
            "silent": torch.tensor([s.silent for s in solos]),
        }
