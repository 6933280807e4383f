"""Real recorded instruments played as phrases: single notes or hits of one library, sequenced by
the scores of ``music.compose``.

Each score note takes the recorded sample of the nearest key (and, among those, the nearest
dynamic), shifted to the note's pitch by resampling, held for the note's duration and released
with the instrument's fade, as ``synth.NoteBank.play`` does with soundfont notes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from .instruments import GM_VOICES, Instrument, Voice
from .music import Note, compose
from .synth import resample

NOTE_SECONDS = 4.0  # longest stored sample
PITCH_CLASSES = {"c": 0, "d": 2, "e": 4, "f": 5, "g": 7, "a": 9, "b": 11}
NOTE_NAME = re.compile(r"(?<![A-Za-z])([A-Ga-g])(#|s|b)?(-?\d)(?!\d)")
DYNAMICS = {  # word in a file name -> MIDI velocity it stands for
    "pianissimo": 30, "pp": 30, "piano": 50, "p": 50, "mezzo-piano": 65, "mp": 65, "mezzo-forte": 80, "mf": 80,
    "forte": 100, "f": 100, "fortissimo": 120, "ff": 120,
}
DEFAULT_VELOCITY = 80


def key_from_name(stem: str) -> int | None:
    """MIDI key of the first note name in a file name (``A#3``, ``As3``, ``Ab3``; C4 = 60)."""
    match = NOTE_NAME.search(stem)
    if match is None:
        return None
    letter, accidental, octave = match.groups()
    shift = {"#": 1, "s": 1, "b": -1}.get(accidental or "", 0)
    return 12 * (int(octave) + 1) + PITCH_CLASSES[letter.lower()] + shift


def velocity_from_name(stem: str) -> int | None:
    """The dynamic a file name states (``forte``, ``mf``, ``_v3_`` of 4, ``LEVEL2`` of 5), if any."""
    layer = re.search(r"(?:level|_v)(\d)", stem.lower())
    if layer:
        return min(127, 15 + 22 * int(layer.group(1)))
    words = re.split(r"[\s_.\-]+", stem.lower())
    for i, word in enumerate(words):
        if word in DYNAMICS:
            return DYNAMICS[word]
        if "-".join(words[i:i + 2]) in DYNAMICS:
            return DYNAMICS["-".join(words[i:i + 2])]
    return None


@dataclass(frozen=True)
class Sample:
    """One recorded note: its file, MIDI key and (stated or default) velocity."""

    path: Path
    key: int
    velocity: int


def sample_of(path: Path, rule: str, drum_keys: dict[str, int] | None = None) -> Sample | None:
    """The key and velocity of a file by a manifest pitch rule (see ``sources.toml``), or None."""
    stem = path.stem
    velocity = velocity_from_name(stem)
    if rule == "name":
        key = key_from_name(stem)
    elif rule == "number":
        numbers = re.findall(r"\d+", stem)
        key = int(numbers[-1]) if numbers else None
    elif rule == "nsynth":
        found = re.search(r"-(\d{3})-(\d{3})$", stem)
        key, velocity = (int(found.group(1)), int(found.group(2))) if found else (None, None)
    elif rule == "drum":
        key = (drum_keys or {}).get(path.parent.name)
    else:
        raise ValueError(f"unknown pitch rule {rule!r}")
    if key is None or not 0 <= key < 128:
        return None
    return Sample(path, key, velocity or DEFAULT_VELOCITY)


def load_note(path: Path, sample_rate: int) -> np.ndarray:
    """A recorded note as mono float32 at ``sample_rate``: from its onset (leading silence cut),
    at most ``NOTE_SECONDS``, its end faded, peak-normalised to 1."""
    audio, rate = sf.read(path, dtype="float32", always_2d=True)
    audio = audio.mean(axis=1)
    audio = audio[: int((NOTE_SECONDS + 0.5) * rate)]
    loud = np.flatnonzero(np.abs(audio) > 0.05 * (np.abs(audio).max() + 1e-9))
    start = max(0, int(loud[0]) - int(0.005 * rate)) if len(loud) else 0
    out = resample(audio[start:start + int(NOTE_SECONDS * rate)], rate, sample_rate)
    fade = min(len(out), int(0.05 * sample_rate))
    out[len(out) - fade:] *= np.linspace(1.0, 0.0, fade, dtype=np.float32)
    return out / max(float(np.abs(out).max()), 1e-6)


class NoteLibrary:
    """The recorded notes of one instrument class from one source, loaded on first use.

    ``pitched`` libraries are shifted to each score note's key; unpitched ones (drum kits) play the
    hit of the nearest key as recorded.
    """

    def __init__(self, name: str, samples: list[Sample], sample_rate: int = 11025, pitched: bool = True):
        if not samples:
            raise ValueError(f"no samples for {name}")
        self.name = name
        self.samples = sorted(samples, key=lambda s: (s.key, s.velocity, str(s.path)))
        self.sample_rate = sample_rate
        self.pitched = pitched
        self.keys = np.array([s.key for s in self.samples])
        self._audio: dict[Path, np.ndarray] = {}

    @property
    def instrument(self) -> Instrument:
        return GM_VOICES[self.name]

    def voice(self) -> Voice:
        """The keys scores may use: the instrument's usual range within the recorded one (drum
        kits: the recorded keys)."""
        if not self.pitched:
            return Voice(-1, -1, tuple(sorted(set(self.keys.tolist()))))
        usual = self.instrument.voices[0].keys
        low, high = int(self.keys.min()), int(self.keys.max())
        if min(high, usual[-1]) - max(low, usual[0]) >= 12:
            low, high = max(low, usual[0]), min(high, usual[-1])
        return Voice(-1, -1, tuple(range(low, high + 1)))

    def audio(self, sample: Sample) -> np.ndarray:
        found = self._audio.get(sample.path)
        if found is None:
            found = self._audio[sample.path] = load_note(sample.path, self.sample_rate).astype(np.float16)
        return found

    def pick(self, key: int, velocity: int, rng: np.random.Generator) -> Sample:
        """A sample of the nearest recorded key, nearest in dynamic, chosen at random among ties."""
        nearest = np.abs(self.keys - key)
        candidates = [s for s, d in zip(self.samples, nearest) if d == nearest.min()]
        closeness = np.array([abs(s.velocity - velocity) for s in candidates])
        candidates = [s for s, c in zip(candidates, closeness) if c == closeness.min()]
        return candidates[rng.integers(len(candidates))]

    def note(self, key: int, velocity: int, rng: np.random.Generator) -> np.ndarray:
        """Float32 audio of ``key``: the picked sample resampled to its pitch (pitched libraries)."""
        sample = self.pick(key, velocity, rng)
        audio = self.audio(sample).astype(np.float32)
        if not self.pitched or sample.key == key:
            return audio
        ratio = 2.0 ** ((key - sample.key) / 12)  # read the recording this much faster
        position = np.arange(0, len(audio) - 1, ratio)
        return np.interp(position, np.arange(len(audio)), audio).astype(np.float32)

    def play(self, notes: list[Note], start: float, n_samples: int, rng: np.random.Generator,
             release: float | None = None) -> np.ndarray:
        """Mono float32 audio of ``notes`` over ``n_samples`` samples beginning at time ``start``."""
        sr = self.sample_rate
        release = self.instrument.release if release is None else release
        out = np.zeros(n_samples, np.float32)
        tail = int(4 * release * sr)
        fade = np.exp(-np.arange(tail, dtype=np.float32) / (release * sr))
        for note in notes:
            begin = int(round((note.onset - start) * sr))
            if begin >= n_samples:
                continue
            audio = self.note(note.key, note.velocity, rng)
            held = int(note.duration * sr)
            length = min(len(audio), held + tail)
            lo, hi = max(begin, 0), min(begin + length, n_samples)
            if hi <= lo:
                continue
            seg = audio[lo - begin:hi - begin].copy()
            if held < hi - begin:
                f0 = max(held, lo - begin)
                seg[f0 - (lo - begin):] *= fade[f0 - held:hi - begin - held]
            out[lo:hi] += seg * (note.velocity / 127) ** 2
        return out

    def phrase(self, rng: np.random.Generator, length: float, lead_in: float) -> tuple[list[Note], np.ndarray]:
        """A composed phrase: its notes and ``lead_in + length`` seconds of audio from ``-lead_in``."""
        notes = compose(self.instrument, self.voice(), rng, length)
        n = int(round((length + lead_in) * self.sample_rate))
        return notes, self.play(notes, -lead_in, n, rng)


def libraries(files: dict[Path, str], rule: str, sample_rate: int = 11025,
              drum_keys: dict[str, int] | None = None) -> dict[str, NoteLibrary]:
    """One library per class of a source's files {path: class} (files without a key are skipped)."""
    grouped: dict[str, list[Sample]] = {}
    for path, name in files.items():
        sample = sample_of(path, rule, drum_keys)
        if sample is not None:
            grouped.setdefault(name, []).append(sample)
    return {name: NoteLibrary(name, samples, sample_rate, pitched=rule != "drum")
            for name, samples in grouped.items()}
