"""YAMNet, Google's AudioSet tagger (521 classes), in plain PyTorch.

A port of the TFLite graph of tfhub ``yamnet/1`` (``scripts/convert_yamnet.py`` makes the weights):
16 kHz mono -> 25 ms periodic-Hann frames at a 10 ms hop -> |512-point FFT| -> 64 mel bins
(125-7500 Hz, the graph's own matrix) -> ``log(mel + 0.001)`` -> patches of 96 frames (0.96 s)
every 48 (0.48 s) -> MobileNetV1 (batch norms folded into the convolutions, TF ``'same'``
padding) -> global average -> dense -> sigmoid.

:class:`Heard` puts it beside the separator: per window of the model's own audio, how clearly each
instrument name of the model is heard (its AudioSet classes in :data:`HEARD_AS`).
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .vocabulary import class_table

SAMPLE_RATE = 16000
N_CLASSES = 521
N_MELS = 64
WINDOW = 400  # 25 ms
HOP = 160  # 10 ms
N_FFT = 512
LOG_OFFSET = 0.001
PATCH_FRAMES = 96  # 0.96 s
PATCH_HOP_FRAMES = 48  # 0.48 s
PATCH_SAMPLES = (PATCH_FRAMES - 1) * HOP + WINDOW  # 15600 samples: one patch
PATCH_HOP_SAMPLES = PATCH_HOP_FRAMES * HOP  # 7680
# The AudioSet classes (display names) in which each instrument of the vocabulary is heard.
HEARD_AS = {
    "violin": ("Violin, fiddle",), "trumpet": ("Trumpet",), "saxophone": ("Saxophone",),
    "guitar": ("Guitar", "Acoustic guitar", "Electric guitar", "Steel guitar, slide guitar", "Strum"),
    "flute": ("Flute",), "accordion": ("Accordion",), "banjo": ("Banjo",), "piano": ("Piano", "Electric piano"),
    "drums": ("Drum kit", "Snare drum", "Bass drum", "Cymbal", "Hi-hat"), "maracas": ("Maraca", "Rattle (instrument)"),
    "conga": ("Drum",), "bell": ("Bell", "Church bell", "Jingle bell", "Tubular bells", "Chime"),
    "horn": ("French horn",), "voice": ("Singing", "Choir", "Humming"), "cello": ("Cello",),
    "double bass": ("Double bass",), "harp": ("Harp",), "clarinet": ("Clarinet",), "tuba": ("Brass instrument",),
    "xylophone": ("Marimba, xylophone", "Glockenspiel", "Vibraphone"), "trombone": ("Trombone",),
    "tabla": ("Tabla",), "sitar": ("Sitar",), "harmonica": ("Harmonica",),
}
# (stride, output channels) of the 13 depthwise-separable layers after the first 32-channel conv
LAYERS = ((1, 64), (2, 128), (1, 128), (2, 256), (1, 256), (2, 512),
          (1, 512), (1, 512), (1, 512), (1, 512), (1, 512), (2, 1024), (1, 1024))


def pad_waveform(waveform: Tensor, hop: int = PATCH_HOP_SAMPLES) -> Tensor:
    """Zero-pad ``(B, samples)`` at the end to one patch plus a whole number of ``hop`` samples, as YAMNet does."""
    n = waveform.shape[-1]
    extra = max(n, PATCH_SAMPLES) - PATCH_SAMPLES
    target = PATCH_SAMPLES + math.ceil(extra / hop) * hop
    return F.pad(waveform, (0, target - n))


class _SameConv(nn.Conv2d):
    """3x3 (or 1x1) convolution with TensorFlow's ``'same'`` padding (the odd pixel goes after)."""

    def forward(self, x: Tensor) -> Tensor:
        pads = []
        for size, k, s in zip(x.shape[:1:-1], self.kernel_size[::-1], self.stride[::-1]):
            total = max((math.ceil(size / s) - 1) * s + k - size, 0)
            pads += [total // 2, total - total // 2]
        return F.relu(super().forward(F.pad(x, pads)))


class YAMNet(nn.Module):
    """Waveform at 16 kHz -> sigmoid scores of the 521 AudioSet classes for every 0.96 s patch."""

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("window", torch.hann_window(WINDOW, periodic=True, dtype=torch.float64).float(),
                             persistent=False)
        self.register_buffer("mel", torch.zeros(N_MELS, N_FFT // 2 + 1))  # (mel, FFT bin)
        self.stem = _SameConv(1, 32, 3, 2)
        convs, cin = [], 32
        for stride, cout in LAYERS:
            convs += [_SameConv(cin, cin, 3, stride, groups=cin), _SameConv(cin, cout, 1)]
            cin = cout
        self.trunk = nn.Sequential(*convs)
        self.classifier = nn.Linear(cin, N_CLASSES)

    def log_mel(self, waveform: Tensor) -> Tensor:
        """``(B, samples)`` -> log mel spectrogram ``(B, frames, 64)`` of the frames that fit (no padding)."""
        frames = waveform.unfold(-1, WINDOW, HOP) * self.window
        magnitude = torch.fft.rfft(frames, n=N_FFT).abs()
        return torch.log(magnitude @ self.mel.T + LOG_OFFSET)

    def forward(self, waveform: Tensor, hop_frames: int = PATCH_HOP_FRAMES) -> Tensor:
        """``(B, samples)`` at 16 kHz -> scores ``(B, patches, 521)`` of patches ``hop_frames`` apart (YAMNet's
        0.48 s by default); exactly 15600 samples give one patch."""
        spec = self.log_mel(pad_waveform(waveform, hop_frames * HOP))
        patches = spec.unfold(1, PATCH_FRAMES, hop_frames).transpose(-1, -2)  # (B, P, 96, 64)
        b, p = patches.shape[:2]
        x = self.trunk(self.stem(patches.reshape(b * p, 1, PATCH_FRAMES, N_MELS)))
        return torch.sigmoid(self.classifier(x.mean((2, 3)))).view(b, p, N_CLASSES)


def resample(waveform: Tensor, rate: int, target: int = SAMPLE_RATE) -> Tensor:
    """``(B, samples)`` at ``rate`` -> at ``target`` Hz, band-limited (zero-padded or cut spectrum)."""
    n = waveform.shape[-1]
    out = round(n * target / rate)
    spectrum = torch.fft.rfft(waveform)
    return torch.fft.irfft(spectrum, n=out)[..., :out] * (out / n)


def class_map(labels: tuple[str, ...], classes: list[str]) -> Tensor:
    """``(len(labels), 521)``: 1 where an AudioSet class is how a vocabulary instrument is heard."""
    return class_table(labels, classes, HEARD_AS, "the tagger (YAMNet)")


class Heard(nn.Module):
    """How clearly each vocabulary instrument is heard: its best class's YAMNet score, averaged over
    patches side by side (0.96 s apart: half YAMNet's own work, as the analysis windows overlap by half).

    ``audible`` holds the score each instrument usually gets when it plays in a mixture
    (``training/hearing.py``), the level against which :meth:`heard_share` reads a score; 0 where
    the tagger hardly hears the instrument at all, whose scores then say nothing.
    """

    def __init__(self, labels: int) -> None:
        super().__init__()
        self.yamnet = YAMNet()
        self.register_buffer("classes", torch.zeros(labels, N_CLASSES))  # :func:`class_map`
        self.register_buffer("audible", torch.zeros(labels))

    def heard_share(self, heard: Tensor) -> Tensor:
        """``(..., labels)`` scores -> each instrument heard as clearly as it usually is (1), not at all (0),
        or unknown (1: an instrument without a usual level is never taken for absent)."""
        known = self.audible > 0
        return torch.where(known, (heard / self.audible.clamp_min(1e-6)).clamp(max=1), torch.ones_like(heard))

    def name_weights(self, heard: Tensor) -> Tensor:
        """``(labels,)`` scores -> how far each instrument counts as heard when naming a player: as clearly as it
        usually is (:meth:`heard_share`) plus as clearly as the clip's clearest instrument."""
        return self.heard_share(heard) + heard / heard.amax().clamp_min(1e-6)

    def forward(self, waveform: Tensor, rate: int) -> Tensor:
        """``(B, samples)`` at ``rate`` -> ``(B, labels)`` scores in [0, 1]."""
        scores = self.yamnet(resample(waveform, rate), PATCH_FRAMES)  # (B, P, 521)
        return (scores[:, :, None, :] * self.classes).amax(-1).mean(1)
