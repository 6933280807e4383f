"""The mix-and-separate objective (Zhao et al., "The Sound of Pixels", 2018) around a :class:`PixelPlayerNet`.

Per source: its frames -> video net -> per-pixel features -> max over frames -> (a) max over space
(the paper) and (b) the 3x3 cells around the instrument's box centre (what a click selects) ->
synthesizer with the mixture's U-Net components -> mask logits, with the paper's
log-magnitude-weighted BCE against the ratio (or binary) mask, plus cross-entropy of the label
head on both features, and optionally the error of all sources clicked at once (``shared_error_db``).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..core.nets import PixelPlayerNet, share
from ..core.spectral import FrontEnd


class MixAndSeparate(nn.Module):
    """The training objective around a :class:`PixelPlayerNet`; one forward pass = one step's losses."""

    def __init__(self, net: PixelPlayerNet, mask: str = "ratio", crop: int | None = None, label_weight: float = 0.1,
                 shared_weight: float = 0.0):
        super().__init__()
        self.net = net
        self.front = FrontEnd(net.config)
        self.mask = mask
        self.crop = crop
        self.label_weight = label_weight
        self.shared_weight = shared_weight

    def features(self, frames: torch.Tensor, centre: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(P, V, 3, S, S)`` frames -> max-pooled and clicked ``(P, K)`` features."""
        p, v = frames.shape[:2]
        pixels = self.net.pixel_features(frames.flatten(0, 1))
        pixels = pixels.view(p, v, *pixels.shape[1:]).amax(1)  # (P, K, h, w): max over frames
        h, w = pixels.shape[2:]
        local = F.avg_pool2d(pixels, 3, 1, 1, count_include_pad=False).flatten(2)  # mean of 3x3 cells
        rows = (centre[:, 0] * h).long().clamp(0, h - 1)
        cols = (centre[:, 1] * w).long().clamp(0, w - 1)
        clicked = local.gather(2, (rows * w + cols)[:, None, None].expand(-1, local.shape[1], 1))[..., 0]
        return pixels.amax((2, 3)), clicked

    def magnitudes(self, audio: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(B, N, samples)`` sources -> the log-frequency magnitudes of their mixture ``(B, F, T)`` and of each
        source ``(B, N, F, T)``."""
        b, n = audio.shape[:2]
        mags = self.front.magnitude(torch.cat([audio.sum(1), audio.flatten(0, 1)]))[:, 0]
        return mags[:b], mags[b:].view(b, n, *mags.shape[1:])

    def forward(self, audio: torch.Tensor, members: torch.Tensor, frames: torch.Tensor, centre: torch.Tensor,
                labels: torch.Tensor) -> dict[str, torch.Tensor]:
        with torch.no_grad(), torch.autocast(audio.device.type, enabled=False):
            mix, sources = self.magnitudes(audio)
            if self.crop and self.crop < mix.shape[-1]:
                t0 = int(torch.randint(mix.shape[-1] - self.crop + 1, ()))
                mix, sources = mix[..., t0: t0 + self.crop], sources[..., t0: t0 + self.crop]
            target, weight = mask_target(mix, sources, self.mask)
        with torch.autocast(audio.device.type, enabled=False):  # bfloat16 U-Nets with batch statistics overflow
            comps = self.net.components(self.front.network_input(mix[:, None]))
        losses = {}
        for name, feature in zip(("pooled", "clicked"), self.features(frames, centre)):
            logits = self.net.synth(feature[members], comps).float()
            losses[f"mask_{name}"] = weighted_bce(logits, target, weight)
            label_logits = self.net.label_logits(feature)
            if label_logits is not None and (labels >= 0).any():
                losses[f"label_{name}"] = F.cross_entropy(label_logits.float(), labels, ignore_index=-1)
            if name == "clicked" and self.shared_weight:
                losses["shared_error_db"] = shared_error_db(logits, mix, sources)
        scale = {"mask": 0.5, "label": self.label_weight, "shared": self.shared_weight}
        losses["total"] = sum(v * scale[k.split("_")[0]] for k, v in losses.items())
        return losses


def mask_target(mix: torch.Tensor, sources: torch.Tensor, mask: str = "ratio") -> tuple[torch.Tensor, torch.Tensor]:
    """What each source's mask should be, ``(B, N, F, T)``, from the magnitudes of ``(B, F, T)`` mixtures and
    their ``(B, N, F, T)`` sources (ratio, or binary: the loudest source), and each bin's weight, the
    mixture's log magnitude ``(B, 1, F, T)``."""
    weight = torch.log1p(mix).clamp(1e-3, 10)[:, None]
    if mask == "ratio":
        return (sources / mix[:, None].clamp_min(1e-8)).clamp(0, 1), weight
    return (sources >= sources.amax(1, keepdim=True)).float() * (sources > 0), weight


def weighted_bce(logits: torch.Tensor, target: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """The masks' binary cross-entropy against ``target``, averaged with the bins' ``weight``."""
    bce = F.binary_cross_entropy_with_logits(logits, target, reduction="none")
    return (bce * weight).sum() / weight.expand_as(bce).sum()


def shared_error_db(logits: torch.Tensor, mix: torch.Tensor, sources: torch.Tensor, floor: float = 1e-3) -> torch.Tensor:
    """Mean error-to-signal ratio (dB) of all sources clicked at once, masks shared as the engine shares them.

    ``logits`` ``(B, N, F, T)``; ``mix`` ``(B, F, T)`` and ``sources`` ``(B, N, F, T)`` magnitudes. Like
    SDR it weighs bins by energy and every source equally; ``floor`` (of the mixture's energy) keeps a
    silent source's score finite: it is scored by how little of the mixture it takes.
    """
    with torch.autocast(logits.device.type, enabled=False):
        estimate = share(torch.sigmoid(logits.float()), dim=1) * mix[:, None]
        error = (estimate - sources).square().sum((2, 3))
        signal = sources.square().sum((2, 3))
        eps = (floor * mix.square().sum((1, 2))[:, None]).clamp_min(1e-8)
        return (10 * torch.log10((error + eps) / (signal + eps))).mean()
