"""How simultaneous clicks' masks share a bin, the refit of their features, and widening a net (``core/nets.py``:
``share``, ``Refit``, ``widen``)."""
from __future__ import annotations

import dataclasses

import pytest
import torch

from pixelplayer_blender.core.config import PRESETS
from pixelplayer_blender.core.nets import PixelPlayerNet, Refit, Synthesizer, half, share, widen


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


def test_the_refit_moves_picks_by_its_step_and_ignores_padding():
    torch.manual_seed(0)
    synth, refit = Synthesizer(8), Refit(8, rounds=3)
    features, components, mixture = torch.rand(2, 2, 8), torch.randn(2, 8, 16, 12), torch.rand(2, 16, 12)
    assert torch.equal(refit(synth, features, components, mixture), features)  # new: no move at all
    with torch.no_grad():
        refit.mlp[-1].weight.normal_(0, 0.1)
    whole = refit(synth, features, components, mixture, step=1.0)
    assert not torch.allclose(whole, features)
    assert torch.allclose(refit(synth, features, components, mixture, step=0.5), (features + whole) / 2)
    refit.step.fill_(0.5)
    assert torch.allclose(refit(synth, features, components, mixture), (features + whole) / 2)
    padded = torch.cat([features, torch.rand(2, 1, 8)], 1)  # a third pick that is only padding
    moved = refit(synth, padded, components, mixture, torch.tensor([[1.0, 1, 0]] * 2))
    assert torch.allclose(moved[:, :2], refit(synth, features, components, mixture), atol=1e-6)
    assert torch.equal(moved[:, 2], padded[:, 2])


def test_half_takes_two_by_two_means():
    spectrogram = torch.arange(16.0).view(1, 4, 4)
    assert torch.equal(half(spectrogram), torch.tensor([[[2.5, 4.5], [10.5, 12.5]]]))
    assert half(torch.rand(2, 3, 8, 6)).shape == (2, 3, 4, 3)


def _outputs(net: PixelPlayerNet, frames: torch.Tensor, spectrogram: torch.Tensor) -> tuple[torch.Tensor, ...]:
    with torch.no_grad():
        feature = net.pixel_features(frames)[:, :, 3, 4]
        return net.synth(feature[:, None], net.components(spectrogram))[:, 0], net.label_logits(feature)


def test_widening_keeps_what_the_net_does_and_lets_the_copies_differ():
    torch.manual_seed(0)
    config = PRESETS["tiny"]
    net = PixelPlayerNet(dataclasses.replace(config, labels=("a", "b", "c"))).eval()
    with torch.no_grad():
        net.synth.scale.uniform_(0.5, 2.0)  # distinct per channel, as after training
    frames = torch.randint(0, 256, (2, 3, config.image_size, config.image_size), dtype=torch.uint8)
    spectrogram = torch.randn(2, 1, config.log_bins, 64)
    masks, labels = _outputs(net, frames, spectrogram)
    exact = widen(net, 20)  # 8 -> 20: channels copied 3, 3, 3, 3, 2, 2, 2, 2 times
    assert exact.config.k == 20 and not exact.training
    wide_masks, wide_labels = _outputs(exact, frames, spectrogram)
    assert torch.allclose(wide_masks, masks, atol=1e-5) and torch.allclose(wide_labels, labels, atol=1e-5)
    assert torch.allclose(exact.synth.scale[[0, 8, 16]], net.synth.scale[0].expand(3) / 3)
    noisy = widen(net, 20, noise=0.1)
    head, old = noisy.video.head.weight, net.video.head.weight
    assert torch.equal(head[:8], old) and not torch.equal(head[8:16], old)  # only the copies move
    assert (_outputs(noisy, frames, spectrogram)[0] - masks).abs().max() < 0.1 * masks.abs().max()
    with pytest.raises(ValueError, match="already has 8"):
        widen(net, 8)
