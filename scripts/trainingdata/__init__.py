"""Training and evaluation data for PixelPlayer: synthetic solos (FluidR3_GM instruments drawn as
Noto emoji), real footage in the Sound-of-Pixels index format, mix-and-separate items, and
held-out duet/trio scenes written as video files."""

from .dataset import MixDataset, SoloSource
from .instruments import INSTRUMENTS, NAMES, SOUNDFONT, Instrument, label_of
from .realdata import IndexSolos, read_index
from .scenes import Scene, compose_scene, write_scene
from .solo import Solo, SoloGenerator, frame_times
from .synth import NoteBank

__all__ = [
    "INSTRUMENTS", "NAMES", "SOUNDFONT", "Instrument", "IndexSolos", "MixDataset", "NoteBank", "Scene", "Solo",
    "SoloGenerator", "SoloSource", "compose_scene", "frame_times", "label_of", "read_index", "write_scene",
]
