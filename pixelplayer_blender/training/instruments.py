"""The instrument vocabulary: the emoji instruments the synthetic data plays (a General MIDI voice
and a Noto emoji each) followed by the instruments that only real photos and recordings show."""

from __future__ import annotations

from dataclasses import dataclass

SOUNDFONT = "/usr/share/sounds/sf2/FluidR3_GM.sf2"
EMOJI_FONT = "/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf"
DRUM_BANK = 128


@dataclass(frozen=True)
class Voice:
    """One soundfont preset and the keys it plays (for drum kits: the percussion keys)."""

    bank: int
    program: int
    keys: tuple[int, ...]

    @property
    def key(self) -> str:
        return f"b{self.bank}p{self.program}k{self.keys[0]}-{self.keys[-1]}n{len(self.keys)}"


@dataclass(frozen=True)
class Instrument:
    """A playable instrument.

    ``style`` picks the composer (see ``music.compose``); ``release`` is the time constant
    in seconds of the fade applied when a held note ends (its natural decay is kept).
    """

    name: str
    emoji: str
    style: str
    voices: tuple[Voice, ...]
    release: float = 0.08


def _span(low: int, high: int) -> tuple[int, ...]:
    return tuple(range(low, high + 1))


def _melodic(programs: tuple[int, ...], low: int, high: int) -> tuple[Voice, ...]:
    return tuple(Voice(0, p, _span(low, high)) for p in programs)


KIT_KEYS = (35, 36, 38, 40, 42, 44, 46, 49, 51, 45, 47, 50, 57, 39)
KITS = (0, 8, 16, 32, 40)

INSTRUMENTS: tuple[Instrument, ...] = (
    Instrument("violin", "\U0001F3BB", "melody", _melodic((40, 110), 55, 88), 0.12),
    Instrument("trumpet", "\U0001F3BA", "melody", _melodic((56, 59), 54, 82)),
    Instrument("saxophone", "\U0001F3B7", "melody",
               _melodic((65,), 49, 80) + _melodic((66,), 44, 75) + _melodic((67,), 36, 67)),
    Instrument("guitar", "\U0001F3B8", "strum", _melodic((24, 25, 26, 27), 40, 79), 0.15),
    Instrument("flute", "\U0001FA88", "melody", _melodic((73, 74), 60, 93)),
    Instrument("accordion", "\U0001FA97", "oompah", _melodic((21, 23), 41, 84)),
    Instrument("banjo", "\U0001FA95", "roll", _melodic((105,), 48, 81), 0.15),
    Instrument("piano", "\U0001F3B9", "keys", _melodic((0, 1, 4), 33, 96), 0.2),
    Instrument("drums", "\U0001F941", "kit", tuple(Voice(DRUM_BANK, k, KIT_KEYS) for k in KITS), 0.3),
    Instrument("maracas", "\U0001FA87", "shaker", (Voice(DRUM_BANK, 0, (70,)), Voice(DRUM_BANK, 32, (70,))), 0.05),
    Instrument("conga", "\U0001FA98", "hand_drum", (Voice(DRUM_BANK, 0, (62, 63, 64)), Voice(DRUM_BANK, 8, (62, 63, 64))), 0.2),
    Instrument("bell", "\U0001F514", "chime", _melodic((14,), 55, 79), 0.5),
    Instrument("horn", "\U0001F4EF", "melody", _melodic((60,), 41, 77), 0.12),
    Instrument("voice", "\U0001F3A4", "melody", _melodic((52, 53), 48, 79), 0.12),
)

# Instruments with no emoji: seen only in photos, heard in recordings and in soundfonts (``GM_VOICES``).
# Appended after the emoji instruments, so labels 0..13 keep their meaning.
EXTRA_NAMES: tuple[str, ...] = (
    "cello", "double bass", "harp", "clarinet", "tuba", "xylophone", "trombone", "tabla", "sitar", "harmonica",
)

NAMES: tuple[str, ...] = tuple(i.name for i in INSTRUMENTS) + EXTRA_NAMES

# How a soundfont plays each class that has a General MIDI voice (tabla has none); no emoji.
GM_VOICES: dict[str, Instrument] = {i.name: i for i in INSTRUMENTS} | {i.name: i for i in (
    Instrument("cello", "", "melody", _melodic((42,), 36, 72), 0.12),
    Instrument("double bass", "", "melody", _melodic((43, 32), 28, 55), 0.12),
    Instrument("harp", "", "keys", _melodic((46,), 36, 89), 0.4),
    Instrument("clarinet", "", "melody", _melodic((71,), 50, 89)),
    Instrument("tuba", "", "melody", _melodic((58,), 28, 58)),
    Instrument("xylophone", "", "melody", _melodic((13,), 65, 96), 0.3),
    Instrument("trombone", "", "melody", _melodic((57,), 40, 72)),
    Instrument("sitar", "", "melody", _melodic((104,), 48, 77), 0.3),
    Instrument("harmonica", "", "melody", _melodic((22,), 60, 84)),
)}

# Things that appear in the picture but make no sound.
DISTRACTOR_EMOJI = (
    "\U0001F335", "\U0001FAB4", "\U0001F408", "\U0001F34E", "\u26BD", "\U0001FA91", "\U0001F4A1",
    "\U0001F4DA", "\U0001F9F8", "\u2615", "\U0001F33B", "\U0001F6B2", "\U0001F388", "\U0001F56F",
    "\U0001F9E6", "\U0001FA9E", "\U0001F986", "\U0001F344", "\U0001F3FA", "\U0001FA81", "\U0001F9FA",
    "\U0001F5BC", "\U0001FAA3", "\U0001F9E2", "\U0001F3A9", "\U0001F45F", "\U0001F302", "\U0001F52D",
    "\U0001F3EE", "\U0001FA86",
)


def label_of(name: str) -> int:
    """Index of an instrument name (the training label)."""
    return NAMES.index(name)
