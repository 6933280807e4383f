"""Synthetic solo performances: one instrument heard and seen, deterministic by seed."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field

import numpy as np

from . import acoustics
from .instruments import DISTRACTOR_EMOJI, INSTRUMENTS, Instrument
from .music import LEAD_IN, Note, compose
from .synth import NoteBank
from .visuals import Actor, Camera, background, look, onset_envelope, place

TRAIN_STREAM, EVAL_STREAM = 0, 1  # seeds of the two never share random streams


@dataclass
class Solo:
    """One training example: what a solo clip sounds and looks like over one window.

    ``frames`` are (n_frames, size, size, 3) uint8 RGB taken at ``frame_times(n_frames, duration)``;
    ``boxes`` are the instrument's (x0, y0, x1, y1) in pixels per frame (the whole frame when unknown);
    ``label`` indexes ``instruments.NAMES`` (-1 when unknown); a ``silent`` clip's audio is all zeros.
    """

    audio: np.ndarray
    frames: np.ndarray
    boxes: np.ndarray
    label: int
    silent: bool = False
    notes: list[Note] = field(default_factory=list, repr=False)


def choose(rng: np.random.Generator, labels: list[int], silent_prob: float, exclude: Collection[int] = (),
           label: int | None = None, silent: bool | None = None) -> tuple[int, bool]:
    """The next solo's label (not in ``exclude`` while others are left) and whether it is silent, unless given."""
    if label is None:
        allowed = [i for i in labels if i not in exclude] or labels
        label = allowed[rng.integers(len(allowed))]
    return label, bool(rng.random() < silent_prob) if silent is None else silent


def frame_times(n_frames: int, duration: float) -> np.ndarray:
    """Times (s) within a window at which its frames are taken: the centres of equal slices."""
    return (np.arange(n_frames) + 0.5) / n_frames * duration


@dataclass
class Performance:
    """An instrument's notes and mono audio over a window."""

    instrument: Instrument
    notes: list[Note]
    audio: np.ndarray

    @property
    def silent(self) -> bool:
        return not self.notes


def perform(bank: NoteBank, instrument: Instrument, rng: np.random.Generator, n_samples: int,
            silent: bool = False) -> Performance:
    """Compose and play a performance with a random voice, room, equaliser and level (-26..-14 dBFS RMS)."""
    if silent:
        return Performance(instrument, [], np.zeros(n_samples, np.float32))
    sr = bank.sample_rate
    voice = instrument.voices[rng.integers(len(instrument.voices))]
    notes = compose(instrument, voice, rng, n_samples / sr)
    lead = int(LEAD_IN * sr)
    return record(instrument, notes, bank.play(instrument, voice, notes, -LEAD_IN, lead + n_samples), rng, sr)


def record(instrument: Instrument, notes: list[Note], played: np.ndarray, rng: np.random.Generator,
           sample_rate: int) -> Performance:
    """``played`` (starting ``LEAD_IN`` before the window) through a random room and equaliser, at a
    random level (-26..-14 dBFS RMS), the lead-in cut."""
    lead = int(LEAD_IN * sample_rate)
    audio = acoustics.colour(played, rng, sample_rate)[lead:]
    rms = float(np.sqrt(np.mean(audio**2)))
    if rms < 1e-5:  # nothing sounds inside the window
        return Performance(instrument, [], np.zeros(len(audio), np.float32))
    audio *= min(10 ** (rng.uniform(-26, -14) / 20) / rms, 0.9 / float(np.abs(audio).max()))
    heard = [n for n in notes if n.onset + n.duration > 0]
    return Performance(instrument, heard, audio)


def distractors(rng: np.random.Generator, count: int, width: int, height: int, avoid: Actor,
                size_range: tuple[float, float]) -> list[Actor]:
    """Silent props, placed away from ``avoid``'s starting point where they can be."""
    out = []
    for _ in range(count):
        image = look(rng, DISTRACTOR_EMOJI[rng.integers(len(DISTRACTOR_EMOJI))])
        size = rng.uniform(*size_range) * height
        for _ in range(6):
            actor = place(rng, image, size, width, height, moves=False)
            if np.hypot(actor.start[0] - avoid.start[0], actor.start[1] - avoid.start[1]) > 0.6 * (size + avoid.size):
                break
        out.append(actor)
    return out


class SoloGenerator:
    """Synthetic solos rendered on the fly.

    >>> gen = SoloGenerator()
    >>> solo = gen.render(seed=7)          # same seed, same solo
    >>> solo.audio.shape, solo.frames.shape
    ((65536,), (3, 128, 128, 3))
    """

    def __init__(self, image_size: int = 128, n_frames: int = 3, n_samples: int = 65536, sample_rate: int = 11025,
                 silent_prob: float = 0.1, max_distractors: int = 3, instruments: Collection[str] | None = None,
                 bank: NoteBank | None = None):
        self.image_size = image_size
        self.n_frames = n_frames
        self.n_samples = n_samples
        self.silent_prob = silent_prob
        self.max_distractors = max_distractors
        self.bank = bank or NoteBank(sample_rate)
        if self.bank.sample_rate != sample_rate:
            raise ValueError("the note bank's sample rate differs from sample_rate")
        self.labels = [i for i, inst in enumerate(INSTRUMENTS) if instruments is None or inst.name in instruments]

    @property
    def sample_rate(self) -> int:
        return self.bank.sample_rate

    def render(self, seed: int, instrument: int | None = None, silent: bool | None = None) -> Solo:
        """The solo of ``seed`` (optionally forcing the instrument label and silence)."""
        rng = np.random.default_rng([TRAIN_STREAM, seed])
        return self.draw(rng, label=instrument, silent=silent)

    def draw(self, rng: np.random.Generator, exclude: Collection[int] = (), label: int | None = None,
             silent: bool | None = None) -> Solo:
        """A solo from ``rng`` whose label is not in ``exclude``."""
        label, silent = choose(rng, self.labels, self.silent_prob, exclude, label, silent)
        performance = perform(self.bank, INSTRUMENTS[label], rng, self.n_samples, silent)
        frames, boxes = self._film(rng, performance)
        return Solo(performance.audio, frames, boxes, label, performance.silent, performance.notes)

    def _film(self, rng: np.random.Generator, performance: Performance) -> tuple[np.ndarray, np.ndarray]:
        s = self.image_size
        duration = self.n_samples / self.sample_rate
        times = frame_times(self.n_frames, duration)
        pulse = onset_envelope(performance.notes, times)
        backdrop = background(rng, s, s)
        camera = Camera.random(rng)
        player = place(rng, look(rng, performance.instrument.emoji), rng.uniform(0.3, 0.65) * s, s, s,
                       drift=rng.uniform(0.0, 0.2))
        props = distractors(rng, int(rng.integers(0, self.max_distractors + 1)), s, s, player, (0.12, 0.4))
        in_front = rng.random(len(props)) < 0.25
        frames = np.empty((self.n_frames, s, s, 3), np.uint8)
        boxes = np.empty((self.n_frames, 4), np.float32)
        for k, t in enumerate(times):
            canvas = backdrop.copy()
            fraction = t / duration
            for prop in (p for p, front in zip(props, in_front) if not front):
                prop.draw(canvas, fraction)
            boxes[k] = player.draw(canvas, fraction, float(pulse[k]))[0]
            for prop in (p for p, front in zip(props, in_front) if front):
                prop.draw(canvas, fraction)
            frames[k] = camera.develop(canvas, rng)
        return frames, boxes
