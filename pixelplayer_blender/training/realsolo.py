"""Solos of real appearance and real sound: a photo of class c heard as a phrase of class c, played
on recorded notes of a sample library or on a soundfont, through a room and a microphone.

The sources come from the manifest (``sources.toml``) by name, extracted under one folder
(``sources.extract``), so the same generator builds training solos from the train sources and
held-out material from the held-out ones.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import replace
from pathlib import Path

import numpy as np

from . import acoustics
from .instruments import GM_VOICES, Instrument, label_of
from .music import LEAD_IN
from .notes import NoteLibrary, libraries
from .photos import PhotoBank, film
from .solo import TRAIN_STREAM, Performance, Solo, choose, perform, record
from .sources import Source, local_files, read_manifest
from .synth import NoteBank, PatchBank


def names_of(role: str, kinds: Collection[str], sources: list[Source] | None = None) -> list[str]:
    """The manifest's sources of a role and kinds, by name."""
    return [s.name for s in (sources or read_manifest()) if s.role == role and s.kind in kinds]

Perform = Callable[[int, np.random.Generator, int], np.ndarray]  # (label, rng, samples) -> a phrase of that class


class Sounds:
    """Phrases of each class from the chosen note libraries and soundfonts."""

    def __init__(self, raw: Path, names: Collection[str], sample_rate: int = 11025, persist: bool = True,
                 sources: list[Source] | None = None):
        self.sample_rate = sample_rate
        self.recorded: dict[int, list[NoteLibrary]] = {}
        self.banks: list[NoteBank] = []
        self.voices: list[dict[int, Instrument]] = []  # per bank: each class it can play, on its voices
        for source in sources or read_manifest():
            if source.name not in names:
                continue
            if source.kind == "notes":
                found = libraries(local_files(source, raw), source.pitch, sample_rate, source.drum_keys)
                for name, library in found.items():
                    self.recorded.setdefault(label_of(name), []).append(library)
            elif source.kind == "soundfont":
                kind = PatchBank if source.path.endswith(".cfg") else NoteBank
                bank = kind(sample_rate, source.path, persist=persist)
                self.banks.append(bank)
                self.voices.append({label_of(name): replace(instrument, voices=voices)
                                    for name, instrument in GM_VOICES.items()
                                    if (voices := tuple(v for v in instrument.voices if bank.has(v)))})
        self.labels = sorted(set(self.recorded).union(*self.voices))

    def perform(self, label: int, rng: np.random.Generator, n_samples: int, recorded_prob: float = 0.65
                ) -> Performance:
        """A phrase of class ``label`` over ``n_samples``: recorded notes (with ``recorded_prob`` where a
        library has the class) or a soundfont, through room, equaliser, level and microphone."""
        libraries_of = self.recorded.get(label, [])
        banks = [i for i, voices in enumerate(self.voices) if label in voices]
        use_recorded = bool(libraries_of) and (not banks or rng.random() < recorded_prob)
        if use_recorded:
            library = libraries_of[rng.integers(len(libraries_of))]
            notes, played = library.phrase(rng, n_samples / self.sample_rate, LEAD_IN)
            lead = int(LEAD_IN * self.sample_rate)
            performance = record(library.instrument, notes, played[: lead + n_samples], rng, self.sample_rate)
        else:
            i = banks[rng.integers(len(banks))]
            performance = perform(self.banks[i], self.voices[i][label], rng, n_samples)
        if not performance.silent:
            performance.audio = acoustics.microphone(performance.audio, rng, self.sample_rate)
        return performance


def train_phrases(raw: Path, labels: int) -> tuple[Perform, list[int], int]:
    """Phrases of the train sources' recordings and soundfonts (extracted under ``raw``): how to play one, the
    labels under ``labels`` they play, and their sample rate."""
    sounds = Sounds(raw, names_of("train", ("notes", "soundfont")))
    playable = [label for label in sounds.labels if label < labels]
    return (lambda label, rng, n: sounds.perform(label, rng, n).audio), playable, sounds.sample_rate


def photo_bank(raw: Path, names: Collection[str], sources: list[Source] | None = None) -> PhotoBank:
    """The photos of the named photo sources, labelled."""
    files = {}
    for source in sources or read_manifest():
        if source.name in names and source.kind == "photos":
            files.update({path: label_of(name) for path, name in local_files(source, raw).items()})
    return PhotoBank(files)


class RealSoloGenerator:
    """Photo solos with real sound, in the form of ``solo.SoloGenerator``'s.

    Classes are those with both photos and sound; about ``silent_prob`` of the solos are visible
    but silent (audio all zeros).
    """

    def __init__(self, raw: Path, image_size: int = 224, n_frames: int = 3, n_samples: int = 65536,
                 sample_rate: int = 11025, silent_prob: float = 0.1, audio: Collection[str] | None = None,
                 photos: Collection[str] | None = None):
        sources = read_manifest()
        self.image_size = image_size
        self.n_frames = n_frames
        self.n_samples = n_samples
        self.silent_prob = silent_prob
        self.sounds = Sounds(raw, audio if audio is not None else names_of("train", ("notes", "soundfont"), sources),
                             sample_rate, sources=sources)
        self.photos = photo_bank(raw, photos if photos is not None else names_of("train", ("photos",), sources),
                                 sources)
        self.labels = sorted(set(self.sounds.labels) & set(self.photos.classes()))

    @property
    def sample_rate(self) -> int:
        return self.sounds.sample_rate

    def render(self, seed: int) -> Solo:
        return self.draw(np.random.default_rng([TRAIN_STREAM, 16, seed]))

    def draw(self, rng: np.random.Generator, exclude: Collection[int] = (), label: int | None = None,
             silent: bool | None = None) -> Solo:
        """A solo from ``rng`` whose label is not in ``exclude``."""
        label, silent = choose(rng, self.labels, self.silent_prob, exclude, label, silent)
        if silent:
            audio, notes = np.zeros(self.n_samples, np.float32), []
        else:
            performance = self.sounds.perform(label, rng, self.n_samples)
            audio, notes, silent = performance.audio, performance.notes, performance.silent
        frames, boxes = film(self.photos, rng, label, self.image_size, self.n_frames)
        return Solo(audio.astype(np.float32), frames, boxes, label, silent, notes)
