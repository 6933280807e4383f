"""Generated scores: melodies, chords, grooves and rolls in a key, at a tempo, with dynamics.

Everything is drawn from a ``numpy.random.Generator``, so a score is a pure function of its seed.
Times are in seconds relative to the start of the rendered window; notes may start before 0
(the performance was already going on) so that ringing notes and reverb enter the window.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .instruments import Instrument, Voice

MODES = (
    (0, 2, 4, 5, 7, 9, 11),  # major
    (0, 2, 3, 5, 7, 8, 10),  # natural minor
    (0, 2, 3, 5, 7, 9, 10),  # dorian
    (0, 2, 4, 5, 7, 9, 10),  # mixolydian
    (0, 2, 3, 5, 7, 8, 11),  # harmonic minor
)
PENTATONIC = ((0, 2, 4, 7, 9), (0, 3, 5, 7, 10), (0, 3, 5, 6, 7, 10))
PROGRESSIONS = ((0, 4, 5, 3), (0, 3, 4, 0), (1, 4, 0, 0), (5, 3, 0, 4), (0, 5, 3, 4), (0, 3, 0, 4), (0, 6, 5, 4))
RHYTHM_CELLS = {
    "slow": ((2.0,), (1.0,), (3.0,), (1.5, 0.5), (4.0,)),
    "medium": ((1.0,), (0.5, 0.5), (1.5, 0.5), (0.75, 0.25), (2.0,)),
    "fast": ((0.5, 0.5), (0.25,) * 4, (0.75, 0.25), (0.5, 0.25, 0.25), (1 / 3,) * 3, (1.0,)),
}
TEMPO = {
    "melody": (66, 150), "strum": (70, 140), "roll": (100, 160), "keys": (60, 140), "oompah": (80, 150),
    "kit": (70, 160), "shaker": (80, 140), "hand_drum": (80, 130), "chime": (50, 90),
}
LEAD_IN = 1.5  # seconds composed before the window starts
MAX_DURATION = 2.6  # longest held note, seconds (the note bank holds 3 s)


@dataclass(frozen=True)
class Note:
    onset: float
    duration: float
    key: int
    velocity: int


@dataclass(frozen=True)
class Groove:
    """The shared time and key frame of one performance."""

    beat: float  # seconds per beat
    meter: int  # beats per bar
    start: float  # time of the first downbeat (<= -LEAD_IN)
    bars: int
    root: int  # pitch class
    mode: tuple[int, ...]

    def time(self, bar: int, beat: float) -> float:
        return self.start + (bar * self.meter + beat) * self.beat

    def chord(self, degree: int, low: int, high: int) -> list[int]:
        """Keys of the diatonic triad on ``degree`` between ``low`` and ``high``."""
        classes = {(self.root + self.mode[(degree + k) % 7]) % 12 for k in (0, 2, 4)}
        return [k for k in range(low, high + 1) if k % 12 in classes]

    def chord_root(self, degree: int) -> int:
        return (self.root + self.mode[degree % 7]) % 12


def scale_keys(root: int, scale: tuple[int, ...], low: int, high: int) -> list[int]:
    classes = {(root + s) % 12 for s in scale}
    return [k for k in range(low, high + 1) if k % 12 in classes]


class _Score:
    """Collects notes with humanized timing and clipped velocities."""

    def __init__(self, rng: np.random.Generator, jitter: float = 0.008):
        self.rng = rng
        self.jitter = jitter
        self.notes: list[Note] = []

    def add(self, onset: float, duration: float, key: int, velocity: float) -> None:
        onset += self.rng.normal(0.0, self.jitter)
        duration = float(np.clip(duration, 0.05, MAX_DURATION))
        self.notes.append(Note(float(onset), duration, int(key), int(np.clip(velocity, 15, 127))))


def compose(instrument: Instrument, voice: Voice, rng: np.random.Generator, length: float) -> list[Note]:
    """A performance of ``length`` seconds (plus lead-in) for ``instrument`` played on ``voice``."""
    low_bpm, high_bpm = TEMPO[instrument.style]
    beat = 60.0 / rng.uniform(low_bpm, high_bpm)
    meter = 3 if rng.random() < 0.25 else 4
    start = -LEAD_IN - rng.uniform(0.0, meter * beat)
    bars = int(np.ceil((length - start) / (meter * beat)))
    groove = Groove(beat, meter, start, bars, int(rng.integers(12)), MODES[rng.integers(len(MODES))])
    score = _Score(rng)
    COMPOSERS[instrument.style](score, groove, voice)
    notes = sorted((n for n in score.notes if n.onset < length), key=lambda n: n.onset)
    return _entry_and_exit(notes, rng, length)


def _entry_and_exit(notes: list[Note], rng: np.random.Generator, length: float) -> list[Note]:
    """Sometimes the player starts late or stops early, leaving silence in the window."""
    if rng.random() < 0.12:
        begin = rng.uniform(0.0, 0.4 * length)
        notes = [n for n in notes if n.onset >= begin]
    if rng.random() < 0.1:
        end = rng.uniform(0.6 * length, length)
        notes = [n for n in notes if n.onset < end]
    return notes


def _phrase_dynamics(rng: np.random.Generator) -> tuple[float, float, float]:
    """(base velocity, hairpin slope per bar, articulation = sounding fraction of each note)."""
    return rng.uniform(45, 115), rng.uniform(-12, 12), float(rng.choice((0.97, 0.8, 0.8, 0.45)))


def _bar_rhythm(rng: np.random.Generator, meter: int, density: str) -> list[tuple[float, float]]:
    """(beat offset, length in beats) of each note of one bar."""
    cells = RHYTHM_CELLS[density]
    out, pos = [], 0.0
    while pos < meter - 1e-6:
        fitting = [c for c in cells if sum(c) <= meter - pos + 1e-6] or [(meter - pos,)]
        for length in fitting[rng.integers(len(fitting))]:
            out.append((pos, length))
            pos += length
    return out


def _melody(score: _Score, g: Groove, keys: list[int], first_bar: int = 0, bars: int | None = None,
            density: str | None = None, rest_prob: float | None = None, level: float = 0.0) -> None:
    """A phrase-structured line: motif rhythms repeat, pitches walk by step, phrases end on a rest."""
    rng = score.rng
    if not keys:
        return
    density = density or str(rng.choice(list(RHYTHM_CELLS)))
    rest_prob = rng.uniform(0.03, 0.2) if rest_prob is None else rest_prob
    phrase = int(rng.choice((2, 4)))
    motifs = [_bar_rhythm(rng, g.meter, density) for _ in range(2)]
    steps = np.array([-4, -3, -2, -1, 0, 1, 2, 3, 4])
    weights = np.array([0.03, 0.05, 0.12, 0.28, 0.08, 0.28, 0.1, 0.04, 0.02])
    index = int(rng.integers(len(keys) // 4, max(len(keys) * 3 // 4, len(keys) // 4 + 1)))
    bar_steps: list[int] = []
    base = slope = articulation = 0.0
    for bar in range(first_bar, first_bar + (g.bars if bars is None else bars)):
        pos = (bar - first_bar) % phrase
        if pos == 0:
            base, slope, articulation = _phrase_dynamics(rng)
        rhythm = motifs[pos % 2] if rng.random() < 0.75 else _bar_rhythm(rng, g.meter, density)
        repeat = pos == 2 and len(bar_steps) >= len(rhythm)
        new_steps = []
        for n, (offset, length) in enumerate(rhythm):
            last = pos == phrase - 1 and n == len(rhythm) - 1
            step = bar_steps[n] if repeat else int(rng.choice(steps, p=weights))
            new_steps.append(step)
            index += step
            if index < 0 or index >= len(keys):
                index = int(np.clip(index - 2 * step, 0, len(keys) - 1))
            if (last and rng.random() < 0.6) or rng.random() < rest_prob:
                continue
            velocity = base + level + slope * pos + (8 if offset == 0 else 0) + rng.normal(0, 5)
            score.add(g.time(bar, offset), length * g.beat * articulation, keys[index], velocity)
        if pos == 0:
            bar_steps = new_steps


def _register(rng: np.random.Generator, voice: Voice, low: int | None = None, high: int | None = None,
              span: tuple[int, int] = (7, 14)) -> tuple[int, int]:
    low = max(voice.keys[0], low if low is not None else voice.keys[0])
    high = min(voice.keys[-1], high if high is not None else voice.keys[-1])
    half = int(rng.integers(*span))
    centre = int(rng.integers(low + min(half, (high - low) // 2), high - min(half, (high - low) // 2) + 1))
    return max(low, centre - half), min(high, centre + half)


def _melody_keys(score: _Score, g: Groove, voice: Voice, low: int | None = None, high: int | None = None) -> list[int]:
    lo, hi = _register(score.rng, voice, low, high)
    if score.rng.random() < 0.25:
        scale = PENTATONIC[score.rng.integers(len(PENTATONIC))]
        return scale_keys(g.root, scale, lo, hi)
    return scale_keys(g.root, g.mode, lo, hi)


def _progression(rng: np.random.Generator, g: Groove) -> list[int]:
    """One chord degree per bar."""
    prog = PROGRESSIONS[rng.integers(len(PROGRESSIONS))]
    return [prog[b % len(prog)] for b in range(g.bars)]


def compose_melody(score: _Score, g: Groove, voice: Voice) -> None:
    _melody(score, g, _melody_keys(score, g, voice))


def compose_strum(score: _Score, g: Groove, voice: Voice) -> None:
    """Guitar: strummed or arpeggiated chords, sometimes a single-note line."""
    rng = score.rng
    mode = rng.choice(("strum", "strum", "arpeggio", "melody"))
    if mode == "melody":
        _melody(score, g, _melody_keys(score, g, voice, low=50), density="fast" if rng.random() < 0.5 else None)
        return
    patterns = ((0, 1, 1.5, 2.5, 3, 3.5), (0, 2), (0, 1, 2, 3), (0, 1.5, 2, 3), (0, 0.5, 1, 1.5, 2, 2.5, 3, 3.5))
    pattern = [p for p in patterns[rng.integers(len(patterns))] if p < g.meter]
    base, _, _ = _phrase_dynamics(rng)
    for bar, degree in enumerate(_progression(rng, g)):
        bass = [k for k in g.chord(degree, 40, 52) if k % 12 == g.chord_root(degree)][0]
        chord = [bass] + [k for k in g.chord(degree, bass + 1, 76)][:5]
        if mode == "arpeggio":
            order = (0, 2, 3, 4, 3, 2, 1, 3)
            for i in range(int(g.meter * 2)):
                score.add(g.time(bar, i / 2), g.beat * 1.5, chord[order[i % 8] % len(chord)],
                          base - 10 + (10 if i % 2 == 0 else 0) + rng.normal(0, 5))
            continue
        for i, beat in enumerate(pattern):
            up = beat % 1 != 0
            strings = chord[-4:][::-1] if up else chord
            ring = ((pattern[i + 1] if i + 1 < len(pattern) else g.meter) - beat) * g.beat + 0.05
            spread = rng.uniform(0.008, 0.025)
            for s, key in enumerate(strings):
                score.add(g.time(bar, beat) + s * spread, ring, key, base - (15 if up else 0) + rng.normal(0, 4))


def compose_roll(score: _Score, g: Groove, voice: Voice) -> None:
    """Banjo: three-finger rolls over the chord with a high drone."""
    rng = score.rng
    rolls = ((0, 1, 2, 0, 1, 2, 0, 1), (0, 1, 3, 0, 1, 3, 0, 3), (2, 1, 0, 3, 2, 1, 0, 3))
    roll = rolls[rng.integers(len(rolls))]
    base, _, _ = _phrase_dynamics(rng)
    drone = scale_keys(g.root, (7,), 67, 78)[0]
    for bar, degree in enumerate(_progression(rng, g)):
        tones = g.chord(degree, 55, 72)[:3] + [drone]
        for i in range(g.meter * 2):
            score.add(g.time(bar, i / 2), g.beat * 0.9, tones[roll[i % 8]], base + (10 if i % 3 == 0 else 0) + rng.normal(0, 5))


def compose_keys(score: _Score, g: Groove, voice: Voice) -> None:
    """Piano: a left hand (bass, broken chords or block chords) under a melody or chords."""
    rng = score.rng
    left = rng.choice(("bass", "broken", "block"))
    right = rng.choice(("melody", "melody", "chords", "none")) if left != "bass" else rng.choice(("melody", "chords"))
    base, _, articulation = _phrase_dynamics(rng)
    progression = _progression(rng, g)
    for bar, degree in enumerate(progression):
        low = g.chord(degree, 36, 60)
        root = [k for k in low if k % 12 == g.chord_root(degree)][0]
        if left == "bass":
            for beat in range(0, g.meter, 2):
                score.add(g.time(bar, beat), 2 * g.beat * articulation, root, base - 5 + rng.normal(0, 4))
        elif left == "broken":
            tones = [root] + [k for k in low if k > root][:3]
            for i in range(g.meter * 2):
                score.add(g.time(bar, i / 2), g.beat * 0.9, tones[(0, 2, 1, 2, 3, 2, 1, 2)[i % 8] % len(tones)],
                          base - 12 + rng.normal(0, 4))
        else:
            for beat in range(g.meter):
                for key in [root] + [k for k in low if k > root][:2]:
                    score.add(g.time(bar, beat), g.beat * articulation, key, base - 10 + rng.normal(0, 3))
        if right == "chords":
            for beat in ((0, 1.5, 2.5) if g.meter == 4 else (0, 1, 2)):
                for key in g.chord(degree, 60, 76)[:4]:
                    score.add(g.time(bar, beat), g.beat * articulation, key, base + rng.normal(0, 4))
    if right == "melody":
        _melody(score, g, _melody_keys(score, g, voice, low=62, high=96), level=8)


def compose_oompah(score: _Score, g: Groove, voice: Voice) -> None:
    """Accordion: bass on the beat, chord off the beat, often a melody on top."""
    rng = score.rng
    base, _, _ = _phrase_dynamics(rng)
    for bar, degree in enumerate(_progression(rng, g)):
        bass = [k for k in g.chord(degree, 41, 53) if k % 12 == g.chord_root(degree)][0]
        for beat in range(g.meter):
            if beat == 0 or (g.meter == 4 and beat == 2):
                key = bass if beat == 0 or rng.random() < 0.5 else bass + 7
                score.add(g.time(bar, beat), 0.6 * g.beat, key, base + rng.normal(0, 4))
            else:
                for key in g.chord(degree, 55, 67)[:3]:
                    score.add(g.time(bar, beat), 0.5 * g.beat, key, base - 12 + rng.normal(0, 4))
    if rng.random() < 0.75:
        _melody(score, g, _melody_keys(score, g, voice, low=62), level=10)


def compose_kit(score: _Score, g: Groove, voice: Voice) -> None:
    """Drum kit: kick/snare/hat grooves, ghost notes, crashes and tom fills at phrase ends."""
    rng = score.rng
    steps = g.meter * 4
    hat = 51 if rng.random() < 0.25 else 42
    hat_every = int(rng.choice((1, 2, 2, 4)))
    kicks = [s for s in range(0, steps, 2) if s == 0 or rng.random() < 0.3]
    snares = [4, 12] if g.meter == 4 else [8]
    half_time = rng.random() < 0.2
    if half_time and g.meter == 4:
        snares = [8]
    base, _, _ = _phrase_dynamics(rng)
    for bar in range(g.bars):
        fill = bar % 4 == 3 and rng.random() < 0.6
        for s in range(steps):
            t = g.time(bar, s / 4)
            if fill and s >= steps - 4:
                score.add(t, 0.6, (50, 47, 45, 38)[rng.integers(4)], base + 5 + rng.normal(0, 6))
                continue
            if s in kicks or (rng.random() < 0.05 and s % 2 == 0):
                score.add(t, 0.6, 36 if rng.random() < 0.8 else 35, base + 5 + rng.normal(0, 5))
            if s in snares:
                score.add(t, 0.6, 38, base + 10 + rng.normal(0, 5))
            elif rng.random() < 0.06:
                score.add(t, 0.3, 38, 35 + rng.normal(0, 5))  # ghost note
            if s % hat_every == 0:
                key = 46 if hat == 42 and s % 8 == 6 and rng.random() < 0.3 else hat
                score.add(t, 0.4, key, base - (0 if s % 4 == 0 else 18) + rng.normal(0, 5))
        if bar % 4 == 0 and rng.random() < 0.5:
            score.add(g.time(bar, 0), 2.0, 49, base + 10)


def compose_shaker(score: _Score, g: Groove, voice: Voice) -> None:
    """Maracas: steady eighths or sixteenths with accents, swing and breaks."""
    rng = score.rng
    per_beat = int(rng.choice((2, 4, 4)))
    swing = rng.uniform(0.0, 0.15) if per_beat == 2 else 0.0
    accents = rng.random(per_beat) < 0.4
    base = rng.uniform(55, 110)
    for bar in range(g.bars):
        if rng.random() < 0.1:
            continue
        for i in range(g.meter * per_beat):
            offset = i / per_beat + (swing if i % 2 else 0.0)
            accent = accents[i % per_beat] or i % per_beat == 0
            score.add(g.time(bar, offset), 0.15, 70, base - (0 if accent else 20) + rng.normal(0, 6))


def compose_hand_drum(score: _Score, g: Groove, voice: Voice) -> None:
    """Conga: a repeating two-bar pattern of open, muted and low tones with variations."""
    rng = score.rng
    steps = g.meter * 2
    tones = np.array([0, 62, 63, 64])
    pattern = rng.choice(tones, size=2 * steps, p=[0.3, 0.3, 0.25, 0.15])
    pattern[0] = 64 if rng.random() < 0.5 else 63
    base = rng.uniform(60, 115)
    for bar in range(g.bars):
        for s in range(steps):
            key = pattern[(bar % 2) * steps + s]
            if rng.random() < 0.12:
                key = rng.choice(tones)
            if key:
                score.add(g.time(bar, s / 2), 0.6, key, base - (0 if s % 2 == 0 else 12) + rng.normal(0, 6))


def compose_chime(score: _Score, g: Groove, voice: Voice) -> None:
    """Bells: a slow tune or a toll."""
    rng = score.rng
    if rng.random() < 0.3:
        key = int(rng.integers(voice.keys[0], voice.keys[-1] + 1))
        every = int(rng.choice((1, 2, 3)))
        for bar in range(g.bars):
            for beat in range(0, g.meter, every):
                score.add(g.time(bar, beat), MAX_DURATION, key, rng.uniform(70, 120))
        return
    _melody(score, g, _melody_keys(score, g, voice), density="slow" if rng.random() < 0.6 else "medium")


COMPOSERS = {
    "melody": compose_melody, "strum": compose_strum, "roll": compose_roll, "keys": compose_keys,
    "oompah": compose_oompah, "kit": compose_kit, "shaker": compose_shaker, "hand_drum": compose_hand_drum,
    "chime": compose_chime,
}
