"""Mix-and-separate batches drawn from a solo cache held as tensors on one device (a GPU's memory,
or the CPU's), so that drawing, augmenting and mixing cost no host round trips.

All randomness comes from one ``numpy`` generator, so a run is reproducible and resumable.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from .cache import SoloCache


@dataclass(frozen=True)
class Augment:
    """Random changes to each drawn solo; the defaults change only gains."""

    gain_db: float = 6.0  # each source's gain in a mixture, uniform in +-dB
    shrink: float = 0.0  # probability of shrinking and squashing a solo's frames (see ``Mixer.shrink``)
    flip: float = 0.0  # probability of mirroring a solo's frames
    semitones: float = 0.0  # pitch and tempo shift by resampling, uniform in +-semitones
    eq_db: float = 0.0  # smooth random equaliser curve, up to +-dB


class Mixer:
    """Batches of mixtures of solos ``first..last`` of a cache (frames at ``image_size``)."""

    def __init__(self, cache: SoloCache, image_size: int, device: torch.device, first: int = 0,
                 last: int | None = None) -> None:
        last = len(cache.labels) if last is None else last
        self.solos = np.arange(first, last)
        self.labels = cache.labels[first:last]
        self.boxes = cache.boxes[first:last]
        self.audio = torch.from_numpy(np.array(cache.audio[first:last])).to(device)
        self.frames = torch.from_numpy(np.array(cache.frames[image_size][first:last])).to(device)
        self.device = device

    def __len__(self) -> int:
        return len(self.labels)

    def draw(self, rng: np.random.Generator, batch: int, n_sources: int, video_frames: int = 1,
             pool: int | None = None, length: int | None = None, augment: Augment = Augment()
             ) -> dict[str, torch.Tensor]:
        """``batch`` mixtures of ``n_sources`` solos with distinct known labels, ``length`` samples each.

        The solos come from a pool of ``pool`` distinct solos (default ``batch * n_sources``: each used
        once); a smaller pool lets mixtures share solos, so the video net runs on fewer frames per mixture.
        """
        pool = pool or batch * n_sources
        for _ in range(100):
            chosen = rng.choice(len(self), pool, replace=False)
            labels = self.labels[chosen]
            if np.sum(labels < 0) + len(set(labels[labels >= 0])) >= n_sources:
                break
        else:
            raise ValueError(f"pools of {pool} solos hold fewer than {n_sources} distinct instruments")
        members = np.empty((batch, n_sources), np.int64)
        for b in range(batch):
            picked: list[int] = []
            for j in rng.permutation(pool):
                if labels[j] < 0 or labels[j] not in labels[picked]:
                    picked.append(int(j))
                    if len(picked) == n_sources:
                        break
            members[b] = picked
        audio = self.sounds(chosen, length or self.audio.shape[1], augment, rng)
        gains = 10 ** (rng.uniform(-augment.gain_db, augment.gain_db, members.shape) / 20)
        audio = audio[self._tensor(members)] * self._tensor(gains, torch.float32)[..., None]
        views = self.boxes.shape[1]
        picks = np.sort(np.stack([rng.choice(views, video_frames, replace=False) for _ in chosen]), axis=1)
        frames = self.frames[self._tensor(chosen)[:, None], self._tensor(picks)].permute(0, 1, 4, 2, 3)
        boxes = self.boxes[chosen, picks[:, 0]]
        centre = np.stack([(boxes[:, 1] + boxes[:, 3]) / 2, (boxes[:, 0] + boxes[:, 2]) / 2], 1)  # (y, x)
        frames, centre = self.shrink(frames, centre, rng.random(pool) < augment.shrink, rng)
        flip = rng.random(pool) < augment.flip
        frames = torch.where(self._tensor(flip)[:, None, None, None, None], frames.flip(-1), frames)
        centre[flip, 1] = 1 - centre[flip, 1]
        return {
            "audio": audio,  # (batch, n_sources, samples)
            "members": self._tensor(members),  # (batch, n_sources) indices into the pool
            "frames": frames.contiguous(),  # (pool, V, 3, S, S) uint8
            "centre": self._tensor(centre, torch.float32),  # (pool, 2)
            "labels": self._tensor(labels),  # (pool,)
        }

    def sounds(self, chosen: np.ndarray, length: int, augment: Augment, rng: np.random.Generator) -> torch.Tensor:
        """``length`` samples of each chosen solo from a random start, resampled by up to
        ``augment.semitones`` and equalised by up to ``augment.eq_db``; float32 ``(len(chosen), length)``."""
        n, samples = len(chosen), self.audio.shape[1]
        source = self.audio[self._tensor(chosen)].float()
        if augment.semitones == 0:
            start = rng.integers(0, samples - length + 1, n)
            index = self._tensor(start)[:, None] + torch.arange(length, device=self.device)
            sound = source.gather(1, index)
        else:
            rate = 2 ** (rng.uniform(-augment.semitones, augment.semitones, n) / 12)
            rate = np.minimum(rate, (samples - 1) / max(length - 1, 1))
            start = rng.uniform(0, 1, n) * (samples - 1 - (length - 1) * rate)
            step = torch.arange(length, device=self.device, dtype=torch.float64)
            position = self._tensor(start, torch.float64)[:, None] + self._tensor(rate, torch.float64)[:, None] * step
            lo = position.floor().long().clamp(0, samples - 2)
            frac = (position - lo).float()
            sound = torch.lerp(source.gather(1, lo), source.gather(1, lo + 1), frac)
        if augment.eq_db > 0:
            sound = self._equalise(sound, augment.eq_db, rng)
        return sound

    def _equalise(self, sound: torch.Tensor, eq_db: float, rng: np.random.Generator) -> torch.Tensor:
        """A smooth random gain curve over log frequency: three cosines, at most ``eq_db`` in all."""
        n, length = sound.shape
        bins = length // 2 + 1
        where = torch.log1p(torch.arange(bins, device=self.device, dtype=torch.float32)) / math.log(bins)
        amplitude = self._tensor(rng.uniform(-1, 1, (n, 3)) * eq_db / 3, torch.float32)
        phase = self._tensor(rng.uniform(0, 2 * math.pi, (n, 3)), torch.float32)
        cycles = torch.arange(1, 4, device=self.device, dtype=torch.float32)
        db = (amplitude[..., None] * torch.cos(math.pi * cycles[:, None] * where + phase[..., None])).sum(1)
        return torch.fft.irfft(torch.fft.rfft(sound) * 10 ** (db / 20), n=length)

    def shrink(self, frames: torch.Tensor, centre: np.ndarray, which: np.ndarray, rng: np.random.Generator
               ) -> tuple[torch.Tensor, np.ndarray]:
        """Scale the ``which`` solos' ``(V, 3, S, S)`` frames down (to 0.6-1) and narrower (by 0.55-1, as a
        16:9 video squashed to a square), at a random place, edges replicated around; centres follow."""
        if not which.any():
            return frames, centre
        size = frames.shape[-1]
        k = int(which.sum())
        scale = rng.uniform(0.6, 1.0, k)
        h, w = size * scale, size * scale * rng.uniform(0.55, 1.0, k)
        top, left = rng.uniform(0, 1, k) * (size - h), rng.uniform(0, 1, k) * (size - w)
        theta = np.zeros((k, 2, 3))  # output -> input, normalised coordinates (align_corners=False)
        theta[:, 0, 0], theta[:, 0, 2] = size / w, (size - 2 * left) / w - 1
        theta[:, 1, 1], theta[:, 1, 2] = size / h, (size - 2 * top) / h - 1
        chosen = frames[self._tensor(which)]
        v = chosen.shape[1]
        flat = chosen.flatten(0, 1).float()
        grid = F.affine_grid(self._tensor(np.repeat(theta, v, 0), torch.float32), list(flat.shape), align_corners=False)
        moved = F.grid_sample(flat, grid, mode="bilinear", padding_mode="border", align_corners=False)
        frames = frames.clone()
        frames[self._tensor(which)] = moved.round().clamp(0, 255).to(torch.uint8).view_as(chosen)
        centre = centre.copy()
        centre[which] = np.stack([(top + centre[which, 0] * h) / size, (left + centre[which, 1] * w) / size], 1)
        return frames, centre

    def _tensor(self, array: np.ndarray, dtype: torch.dtype | None = None) -> torch.Tensor:
        return torch.as_tensor(array, dtype=dtype, device=self.device)
