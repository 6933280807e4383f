"""The three networks of the Sound of Pixels, sized by a :class:`ModelConfig`.

* video net: frames -> a K-dim feature per pixel (``sigmoid``-activated); the ``mobilenetv2`` one
  starts from ImageNet weights (``training/backbone.py``),
* audio U-Net: log-frequency spectrogram -> K components,
* synthesizer: a pixel's feature and the K components -> a spectrogram mask,

optionally an AudioSet tagger (``core/audiotag.py``) saying which named instruments are heard,
ImageNet's classifier (``core/eyes.py``) saying which are seen and a learned refit of simultaneous
clicks' features to the clip (``Refit``), then ``share``, how the masks of several simultaneous
clicks split each bin, and ``widen``, which gives a trained net more components without changing
what it does.
"""
from __future__ import annotations

import dataclasses

import torch
from torch import nn

from .audiotag import Heard
from .config import ModelConfig
from .eyes import Eyes, blend

HEARD_SHARE = 0.5  # see ``PixelPlayerNet.agreement``
REFIT_HIDDEN = 96  # width of the refit's MLP
# What the eyes see where a feature is, ``(..., labels)``, and how far they are trusted there, ``(..., 1)``.
Looks = tuple[torch.Tensor, torch.Tensor]


def _conv_bn(cin: int, cout: int, stride: int = 1, dilation: int = 1, relu: bool = True) -> nn.Sequential:
    layers = [nn.Conv2d(cin, cout, 3, stride, dilation, dilation=dilation, bias=False), nn.BatchNorm2d(cout)]
    return nn.Sequential(*layers, nn.ReLU(inplace=True)) if relu else nn.Sequential(*layers)


class BasicBlock(nn.Module):
    """ResNet basic block, optionally dilated instead of strided."""

    def __init__(self, cin: int, cout: int, stride: int = 1, dilation: int = 1) -> None:
        super().__init__()
        self.body = nn.Sequential(_conv_bn(cin, cout, stride, dilation), _conv_bn(cout, cout, 1, dilation, relu=False))
        self.skip = (nn.Identity() if stride == 1 and cin == cout
                     else nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.body(x) + self.skip(x))


class ResNet18Dilated(nn.Module):
    """The paper's video net: ResNet-18 with a dilated last stage (output stride 16), then a 3x3 conv to K."""

    def __init__(self, k: int, width: int = 64) -> None:
        super().__init__()
        w = width
        self.stem = nn.Sequential(nn.Conv2d(3, w, 7, 2, 3, bias=False), nn.BatchNorm2d(w), nn.ReLU(inplace=True),
                                  nn.MaxPool2d(3, 2, 1))
        self.stages = nn.Sequential(
            BasicBlock(w, w), BasicBlock(w, w),
            BasicBlock(w, 2 * w, 2), BasicBlock(2 * w, 2 * w),
            BasicBlock(2 * w, 4 * w, 2), BasicBlock(4 * w, 4 * w),
            BasicBlock(4 * w, 8 * w, 1, 2), BasicBlock(8 * w, 8 * w, 1, 2),
        )
        self.head = nn.Conv2d(8 * w, k, 3, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.stages(self.stem(x)))


class LiteVideoNet(nn.Module):
    """A small CPU-friendly video net: output stride 8, residual stages, 1x1 conv to K."""

    def __init__(self, k: int, width: int = 32) -> None:
        super().__init__()
        w = width
        self.body = nn.Sequential(
            _conv_bn(3, w, 2), BasicBlock(w, w),
            BasicBlock(w, 2 * w, 2), BasicBlock(2 * w, 2 * w),
            BasicBlock(2 * w, 4 * w, 2), BasicBlock(4 * w, 4 * w, 1, 2),
        )
        self.head = nn.Conv2d(4 * w, k, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x))


# (expansion, channels, repeats, stride) of each stage of torchvision's mobilenet_v2
MOBILENET_V2_STAGES = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2),
                       (6, 320, 1, 1))


def _conv(cin: int, cout: int, kernel: int = 1, stride: int = 1, groups: int = 1, dilation: int = 1,
          relu6: bool = False) -> nn.Module:
    """A convolution with its batch norm folded in (hence the bias), optionally followed by ReLU6."""
    conv = nn.Conv2d(cin, cout, kernel, stride, dilation * (kernel // 2), dilation, groups, bias=True)
    return nn.Sequential(conv, nn.ReLU6(inplace=True)) if relu6 else conv


class InvertedResidual(nn.Module):
    """MobileNetV2's block: 1x1 expansion, 3x3 depthwise, 1x1 linear projection, residual when shapes allow."""

    def __init__(self, cin: int, cout: int, stride: int, expansion: int, dilation: int = 1) -> None:
        super().__init__()
        hidden = cin * expansion
        layers = [] if expansion == 1 else [_conv(cin, hidden, relu6=True)]
        layers += [_conv(hidden, hidden, 3, stride, hidden, dilation, relu6=True), _conv(hidden, cout)]
        self.conv = nn.Sequential(*layers)
        self.residual = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv(x) if self.residual else self.conv(x)


def mobilenet_v2_features(blocks: int = 19, output_stride: int = 32) -> nn.Sequential:
    """The first ``blocks`` of torchvision's ``mobilenet_v2().features``, batch norms folded into the convs.

    Keys match torchvision's without the batch-norm entries (``3.conv.2.weight`` ...), so a folded
    torchvision state dict loads as is.  Past ``output_stride`` the strided blocks keep their
    resolution and later blocks dilate instead (DeepLab), so the ImageNet weights still apply.
    """
    layers: list[nn.Module] = [_conv(3, 32, 3, 2, relu6=True)]
    cin, stride, dilation = 32, 2, 1
    for expansion, cout, repeats, first_stride in MOBILENET_V2_STAGES:
        for i in range(repeats):
            s, d = (first_stride if i == 0 else 1), dilation
            if s > 1 and stride >= output_stride:
                s, dilation = 1, dilation * s
            stride *= s
            layers.append(InvertedResidual(cin, cout, s, expansion, d))
            cin = cout
    layers.append(_conv(cin, 1280, relu6=True))
    return nn.Sequential(*layers[:blocks])


class MobileNetVideoNet(nn.Module):
    """ImageNet MobileNetV2 trunk (blocks 0-13, 96 channels, output stride 8 by dilation) + a small head to K.

    The trunk's weights come from ``train.py --backbone`` (``scripts/convert_backbone.py``) and
    travel inside every checkpoint; ``width`` is the channels of the 3x3 ``neck`` before the 1x1 head.
    """

    BLOCKS, STRIDE, CHANNELS = 14, 8, 96

    def __init__(self, k: int, width: int = 128) -> None:
        super().__init__()
        self.features = mobilenet_v2_features(self.BLOCKS, self.STRIDE)
        self.neck = nn.Sequential(nn.Conv2d(self.CHANNELS, width, 3, 1, 1), nn.ReLU(inplace=True))
        self.head = nn.Conv2d(width, k, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.neck(self.features(x))).contiguous()


class AudioUNet(nn.Module):
    """The paper's U-Net: 4x4 stride-2 convolutions down, upsample + 3x3 convolutions up, skip links."""

    def __init__(self, k: int, levels: int = 7, width: int = 64, final_kernel: int = 3) -> None:
        super().__init__()
        chans = [width * min(2 ** i, 8) for i in range(levels)]
        self.bn0 = nn.BatchNorm2d(1)
        self.down = nn.ModuleList()
        for i, c in enumerate(chans):
            layers: list[nn.Module] = [nn.Conv2d(1 if i == 0 else chans[i - 1], c, 4, 2, 1, bias=False)]
            if 0 < i < levels - 1:
                layers.append(nn.BatchNorm2d(c))
            self.down.append(nn.Sequential(*layers))
        self.up = nn.ModuleList()
        for i in reversed(range(levels)):
            cin = chans[i] if i == levels - 1 else 2 * chans[i]
            cout = k if i == 0 else chans[i - 1]
            kernel = final_kernel if i == 0 else 3
            layers = [nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False),
                      nn.Conv2d(cin, cout, kernel, 1, kernel // 2, bias=i == 0)]
            if i > 0:
                layers += [nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]
            self.up.append(nn.Sequential(*layers))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.bn0(x)
        skips = []
        for i, down in enumerate(self.down):
            x = down(x if i == 0 else nn.functional.leaky_relu(x, 0.2))
            skips.append(x)
        x = nn.functional.leaky_relu(skips.pop(), 0.2)
        for j, up in enumerate(self.up):
            x = up(x if j == 0 else torch.cat([x, skips.pop()], 1))
        return x.contiguous()


class Synthesizer(nn.Module):
    """Mask logits from a pixel feature: a learned weighted inner product with the K components."""

    def __init__(self, k: int) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.ones(k))
        self.bias = nn.Parameter(torch.zeros(1))

    def forward(self, features: torch.Tensor, components: torch.Tensor) -> torch.Tensor:
        """``(B, N, K)`` features and ``(B, K, F, T)`` components -> ``(B, N, F, T)`` mask logits.

        Each of the N features of batch item b (queries, or every pixel of a frame) reads the same
        components of item b.
        """
        b, k = components.shape[:2]
        logits = (features * self.scale) @ components.reshape(b, k, -1) + self.bias
        return logits.view(*logits.shape[:2], *components.shape[2:])


def half(spectrogram: torch.Tensor) -> torch.Tensor:
    """``(..., F, T)`` -> ``(..., F/2, T/2)``: 2 x 2 means, the resolution the refit reads."""
    shape = spectrogram.shape
    pooled = nn.functional.avg_pool2d(spectrogram.reshape(-1, 1, *shape[-2:]), 2)
    return pooled.view(*shape[:-2], *pooled.shape[-2:])


class Refit(nn.Module):
    """``rounds`` learned steps of simultaneous picks' ``(B, Q, K)`` features, refitting them to the clip.

    On real footage the components hold the separation and the picks' features miss it (``models/HISTORY.md``:
    features fitted to the true stems reach 8.6 dB median SDRi on the real MUSIC dev set, the picks' 2.5).  In
    each round every pick reads what its shared mask (:func:`share`) holds: the components' mean, weighted by
    the mask and the mixture, against the whole window's and the other picks'; an MLP turns that into a move of
    its feature.  Trained through the frozen model on mixtures of train phrases (``training/refit.py``);
    ``step``, a buffer chosen on held-out sources, scales the learned move.  It reads components and mixture at
    half resolution (:func:`half`), as trained.
    """

    def __init__(self, k: int, rounds: int, hidden: int = REFIT_HIDDEN) -> None:
        super().__init__()
        self.rounds = rounds
        self.mlp = nn.Sequential(nn.Linear(4 * k + 1, hidden), nn.GELU(), nn.Linear(hidden, hidden), nn.GELU(),
                                 nn.Linear(hidden, k))
        nn.init.zeros_(self.mlp[-1].weight)  # starts as no move at all
        nn.init.zeros_(self.mlp[-1].bias)
        self.register_buffer("step", torch.ones(()))

    @staticmethod
    def masks(synth: Synthesizer, features: torch.Tensor, components: torch.Tensor,
              picked: torch.Tensor) -> torch.Tensor:
        """``(B, Q, F, T)`` masks of the ``picked`` ``(B, Q)`` (1, or 0 for padding) features, shared."""
        return share(torch.sigmoid(synth(features, components)) * picked[..., None, None], 1)

    def forward(self, synth: Synthesizer, features: torch.Tensor, components: torch.Tensor, mixture: torch.Tensor,
                picked: torch.Tensor | None = None, step: float | None = None) -> torch.Tensor:
        """``(B, Q, K)`` features, ``(B, K, F, T)`` components and ``(B, F, T)`` mixture magnitudes -> the
        features moved by ``step`` (default: the buffer) times the learned move; ``picked`` as in :meth:`masks`."""
        picked = features.new_ones(features.shape[:2]) if picked is None else picked
        heard = components * synth.scale[None, :, None, None]  # what each component adds to a mask's logit
        weights = mixture / mixture.sum((1, 2), keepdim=True).clamp_min(1e-9)
        whole = torch.einsum("bft,bkft->bk", weights, heard)[:, None].expand_as(features)
        others_count = (picked.sum(1, keepdim=True) - picked).clamp_min(1)[..., None]
        moved = features
        for _ in range(self.rounds):
            held = weights[:, None] * self.masks(synth, moved, components, picked)
            energy = held.sum((2, 3))
            own = torch.einsum("bqft,bkft->bqk", held, heard) / energy[..., None].clamp_min(1e-6)
            own = own * picked[..., None]
            others = (own.sum(1, keepdim=True) - own) / others_count
            seen = torch.cat([moved, own - whole, others - whole, whole, energy[..., None]], -1)
            moved = moved + self.mlp(seen) * picked[..., None]
        return features + (self.step if step is None else step) * (moved - features)


class PixelPlayerNet(nn.Module):
    """The three networks together, plus an optional head naming the instrument of a feature."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        video = {"resnet18-dilated": ResNet18Dilated, "lite": LiteVideoNet, "mobilenetv2": MobileNetVideoNet}.get(
            config.video_net)
        if video is None:
            raise ValueError(f"unknown video net {config.video_net!r}")
        self.video = video(config.k, config.video_width)
        self.audio = AudioUNet(config.k, config.unet_levels, config.unet_width, config.unet_final_kernel)
        self.synth = Synthesizer(config.k)
        self.label_head = nn.Linear(config.k, len(config.labels)) if config.labels else None
        if config.tagger not in ("", "yamnet"):
            raise ValueError(f"unknown tagger {config.tagger!r}")
        self.heard = Heard(len(config.labels)) if config.tagger else None
        if config.eyes not in ("", "imagenet"):
            raise ValueError(f"unknown eyes {config.eyes!r}")
        self.eyes = Eyes(len(config.labels)) if config.eyes else None
        self.refit = Refit(config.k, config.refit) if config.refit else None
        self.register_buffer("pixel_mean", torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1))
        self.register_buffer("pixel_std", torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1))
        self.to(memory_format=torch.channels_last)  # every convolution: 1.3 to 2 times faster on CPUs

    def pixel_features(self, frames: torch.Tensor) -> torch.Tensor:
        """``(B, 3, S, S)`` uint8 frames -> ``(B, K, h, w)`` per-pixel features in [0, 1]."""
        x = (frames.float() / 255.0 - self.pixel_mean) / self.pixel_std
        return torch.sigmoid(self.video(x))

    def components(self, log_magnitude: torch.Tensor) -> torch.Tensor:
        """``(B, 1, F, T)`` log magnitudes -> ``(B, K, F, T)`` audio components."""
        return self.audio(log_magnitude)

    def label_logits(self, feature: torch.Tensor) -> torch.Tensor | None:
        return None if self.label_head is None else self.label_head(feature)

    def label_probabilities(self, feature: torch.Tensor, looks: Looks | None = None) -> torch.Tensor | None:
        """``(..., K)`` features -> ``(..., labels)`` what the picture says each one is: the label head's
        softmax, blended (``eyes.blend``) with what the eyes see there, ``looks``, if given."""
        logits = self.label_logits(feature)
        if logits is None:
            return None
        probabilities = torch.softmax(logits.float(), -1)
        return probabilities if looks is None else blend(probabilities, *looks)

    def agreement(self, feature: torch.Tensor, heard: torch.Tensor, looks: Looks | None = None) -> torch.Tensor:
        """``(..., K)`` features and the clip's ``(labels,)`` heard scores -> ``(...)`` in [0, 1]: whether what
        the picture says a pixel is (:meth:`label_probabilities`, with ``looks``) can be heard.  The
        picture's probabilities weight how clearly each instrument is heard (``Heard.heard_share``);
        :data:`HEARD_SHARE` or more counts as fully heard.  1 for a model without a tagger."""
        if self.heard is None:
            return torch.ones(feature.shape[:-1])
        share = (self.label_probabilities(feature, looks) * self.heard.heard_share(heard)).sum(-1)
        return (share / HEARD_SHARE).clamp(0, 1)


def share(masks: torch.Tensor, dim: int = 0) -> torch.Tensor:
    """Share bins among simultaneous queries' masks, queries along ``dim`` (``(Q, F, T)``).

    The queries together keep what the model gives them (their sum, at most the whole
    bin); they split it in proportion to the squares of their own masks, a Wiener-style
    competition that gives a bin to the instrument that claims it most.  One query's
    mask is unchanged.  Training uses the same rule (``train.py --shared-weight``).
    """
    power = masks.square()
    total = masks.sum(dim, keepdim=True).clamp(max=1.0)
    return power / power.sum(dim, keepdim=True).clamp_min(1e-12) * total


@torch.no_grad()
def widen(net: PixelPlayerNet, k: int, noise: float = 0.0, seed: int = 0) -> PixelPlayerNet:
    """A copy of ``net`` with ``k`` features and components, Net2Net-style (Chen et al., 2016).

    New channel ``n`` duplicates channel ``n mod K`` in the video head and the U-Net's last
    convolution, and each channel's synthesizer scale and label-head column are divided
    among its copies, so masks and labels stay exactly those of ``net``.  ``noise``
    (relative to each weight's spread) perturbs the copies' incoming weights so they can
    learn apart.
    """
    old = net.config.k
    if k <= old:
        raise ValueError(f"widen to k={k}: the net already has {old}")
    wide = PixelPlayerNet(dataclasses.replace(net.config, k=k)).to(net.pixel_mean.device)
    source = torch.arange(k) % old
    copies = torch.bincount(source, minlength=old).float()
    generator = torch.Generator().manual_seed(seed)
    state = net.state_dict()
    out_convs = {"video.head", f"audio.up.{len(wide.audio.up) - 1}.1"}
    for name, value in wide.state_dict().items():
        kept = state[name]
        if name.rsplit(".", 1)[0] in out_convs:  # rows are output channels
            grown = kept[source].clone()
            if name.endswith("weight") and noise:
                jitter = torch.randn(grown.shape, generator=generator).to(grown) * noise * kept.std()
                grown[old:] += jitter[old:]
        elif name == "synth.scale":
            grown = (kept / copies)[source]
        elif name == "label_head.weight":
            grown = (kept / copies)[:, source]
        else:
            grown = kept
        value.copy_(grown)
    return wide.train(net.training)
