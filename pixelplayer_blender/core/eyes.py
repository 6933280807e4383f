"""ImageNet's own eyes: what each part of a frame shows, in the model's instrument names.

The separator's video net learned its instruments from emoji and a few thousand photos; on real
footage it calls most players "piano".  ImageNet's MobileNetV2 classifier has seen over a
thousand photos of each of many instruments.  :class:`Eyes` runs it whole (all 19 blocks, its
1000-way classifier) on a frame kept in its own proportions, the classifier applied at every cell
of the last feature map (class activation, as the global average and the linear layer commute),
and gives each cell's probability of every vocabulary name (its ImageNet classes in
:data:`SEEN_AS`).  Names sharing an ImageNet class (a drum: drums, conga, tabla) share its
probability, so a cell's probabilities sum to how surely it shows an instrument at all.
"""
from __future__ import annotations

import torch
from torch import Tensor, nn

from .vocabulary import class_table

N_CLASSES = 1000
SHORT_SIDE = 224  # ImageNet's input size, on the frame's short side
LONG_SIDE_MAX = 672  # a wider frame (over 3:1) is squeezed to this
STRIDE = 32
# Label-head probability from which its name stands whatever the eyes see (ImageNet takes a banjo emoji for
# maracas; the head, sure of 80 % of the emoji tuning scenes' instruments, is right on all of them).
HEAD_SURE = 0.9
SURE = 0.25  # instrument probability from which the eyes alone name a place (``at``) or speak for a frame (``trust``)
# The ImageNet classes (as ``words.txt`` spells them) in which each instrument of the vocabulary is seen.
SEEN_AS = {
    "violin": ("violin, fiddle",), "trumpet": ("cornet, horn, trumpet, trump",), "saxophone": ("sax, saxophone",),
    "guitar": ("acoustic guitar", "electric guitar"), "flute": ("flute, transverse flute",),
    "accordion": ("accordion, piano accordion, squeeze box",), "banjo": ("banjo",),
    "piano": ("grand piano, grand", "upright, upright piano"), "drums": ("drum, membranophone, tympan", "drumstick"),
    "maracas": ("maraca",), "conga": ("drum, membranophone, tympan",), "bell": ("chime, bell, gong", "gong, tam-tam"),
    "horn": ("French horn, horn",), "voice": ("microphone, mike",), "cello": ("cello, violoncello",),
    "double bass": ("cello, violoncello",), "harp": ("harp",), "clarinet": ("oboe, hautboy, hautbois",),
    "tuba": ("French horn, horn", "cornet, horn, trumpet, trump"), "xylophone": ("marimba, xylophone",),
    "trombone": ("trombone",), "tabla": ("drum, membranophone, tympan",), "sitar": ("acoustic guitar", "banjo"),
    "harmonica": ("harmonica, mouth organ, harp, mouth harp",),
}


def class_map(labels: tuple[str, ...], classes: list[str]) -> Tensor:
    """``(1000, len(labels))``: each ImageNet class's probability shared evenly among the names seen as it."""
    table = class_table(labels, classes, SEEN_AS, "ImageNet").T
    return table / table.sum(1, keepdim=True).clamp_min(1)


def frame_size(width: int, height: int) -> tuple[int, int]:
    """The ``(width, height)`` the eyes see a frame at: short side :data:`SHORT_SIDE`, proportions kept
    (the long side at most :data:`LONG_SIDE_MAX`), both multiples of the stride."""
    scale = SHORT_SIDE / min(width, height)
    w, h = (min(round(s * scale / STRIDE) * STRIDE, LONG_SIDE_MAX) for s in (width, height))
    return max(w, STRIDE), max(h, STRIDE)


def trust(seen: Tensor) -> Tensor:
    """``(..., labels, h, w)`` -> ``(...)``: how far the eyes speak for a whole frame, as the sound map asks:
    as far as they see an instrument anywhere in it (fully from :data:`SURE`), so that the background of
    real footage claims no sound; not at all in a drawing ImageNet does not know."""
    return (seen.sum(-3).flatten(-2).amax(-1) / SURE).clamp(max=1)


def at(seen: Tensor) -> tuple[Tensor, Tensor]:
    """``(..., labels)`` seen at one place (a click's cells) -> which instrument the eyes take it for, if it is
    one (the names' probabilities given an instrument), and how far they are trusted there: as far as they
    see an instrument at all (fully from :data:`SURE`; ``(..., 1)``).  A drawing ImageNet does not know
    is left to the label head; a player it does, to the eyes."""
    sure = seen.sum(-1, keepdim=True)
    return seen / sure.clamp_min(1e-9), (sure / SURE).clamp(max=1)


def blend(head: Tensor, seen: Tensor, trusted: Tensor) -> Tensor:
    """What a feature's label head (``(..., labels)`` probabilities) and the eyes (``seen`` there) say
    together, the eyes ``trusted`` that far (``(..., 1)``: :func:`trust` or :func:`at`), except where the
    head is sure of itself (:data:`HEAD_SURE`: it is on the drawings it learned, hardly ever on real footage)."""
    trusted = trusted * (head.amax(-1, keepdim=True) < HEAD_SURE)
    return (1 - trusted) * head + trusted * seen


class Eyes(nn.Module):
    """RGB uint8 frames ``(B, 3, H, W)`` -> ``(B, labels, H/32, W/32)``: each cell's probability of each name."""

    def __init__(self, labels: int) -> None:
        from .nets import mobilenet_v2_features  # here: the nets module builds the eyes

        super().__init__()
        self.trunk = mobilenet_v2_features()
        self.classifier = nn.Linear(1280, N_CLASSES)
        self.register_buffer("classes", torch.zeros(N_CLASSES, labels))  # :func:`class_map`
        self.register_buffer("pixel_mean", torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1))
        self.register_buffer("pixel_std", torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1))

    def forward(self, frames: Tensor) -> Tensor:
        x = self.trunk((frames.float() / 255.0 - self.pixel_mean) / self.pixel_std)
        probabilities = torch.softmax(self.classifier(x.movedim(1, -1)), -1)
        return (probabilities @ self.classes).movedim(-1, 1)
