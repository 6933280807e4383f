"""Training and evaluation data for PixelPlayer: synthetic solos (FluidR3_GM instruments drawn as
Noto emoji), real footage in the Sound-of-Pixels index format (``realdata``), mix-and-separate
items, and held-out duet/trio scenes written as video files (``scenes``). Real material from the
manifest ``sources.toml``: photo solos with recorded or soundfont phrases (``realsolo``, ``notes``,
``photos``), held-out and real-footage evaluation sets (``evalsets``), built by ``build``.

Only what training needs is imported here: ``realdata`` and ``scenes`` need PyAV and are
imported from their modules, so training runs where PyAV is not installed (a GPU machine)."""

from .dataset import MixDataset, SoloSource
from .instruments import INSTRUMENTS, NAMES, SOUNDFONT, Instrument, label_of
from .solo import Solo, SoloGenerator, frame_times
from .synth import NoteBank

__all__ = [
    "INSTRUMENTS", "NAMES", "SOUNDFONT", "Instrument", "MixDataset", "NoteBank", "Solo", "SoloGenerator",
    "SoloSource", "frame_times", "label_of",
]
