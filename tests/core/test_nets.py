"""How simultaneous clicks' masks share a bin (``core/nets.py``: ``share``)."""
from __future__ import annotations

import torch

from pixelplayer_blender.core.nets import share


def test_sharing_keeps_the_claimed_total_and_favours_the_strongest_claim():
    one = torch.rand(1, 8, 5)
    assert torch.allclose(share(one), one)  # a single query keeps its mask
    masks = torch.tensor([[0.6, 0.5, 0.9, 0.0], [0.2, 0.5, 0.8, 0.0]])[:, None]  # (Q=2, F=1, T=4)
    shared = share(masks)
    assert torch.allclose(shared.sum(0), masks.sum(0).clamp(max=1))  # the rest keeps what nobody claims
    assert torch.allclose(shared[:, 0, 0], torch.tensor([0.72, 0.08]))  # 0.8 split 9:1, not 3:1
    assert torch.allclose(shared[0, 0, 1], shared[1, 0, 1]) and shared[:, 0, 3].eq(0).all()
    assert shared[0, 0, 2] > shared[1, 0, 2] and shared[:, 0, 2].sum() <= 1 + 1e-6


def test_sharing_along_another_axis_matches_sharing_each_mixture():
    masks = torch.rand(3, 2, 4, 5)  # (B, Q, F, T): training shares along dim 1
    shared = share(masks, dim=1)
    assert all(torch.allclose(shared[b], share(masks[b])) for b in range(3))
