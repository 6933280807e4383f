"""Sampled-instrument audio: every note of a voice is rendered once through FluidSynth and cached.

A voice's notes are kept as a float16 table (keys x velocity layers x samples), saved as ``.npy`` in
the cache folder and memory-mapped, so DataLoader workers share one copy. Playing a score is then a
sum of table slices with a release fade, which is fast enough to synthesise on the fly.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .instruments import DRUM_BANK, SOUNDFONT, Instrument, Voice
from .music import Note

LAYERS = (40, 80, 120)  # velocities rendered; others are scaled from the nearest
NOTE_SECONDS = 3.0
END_FADE = 0.3  # seconds faded out at the end of each stored note
FLUID_RATE = 44100
CACHE_VERSION = 1


def default_cache_dir() -> Path:
    """``$PIXELPLAYER_DATA_CACHE`` or ``~/.cache/pixelplayer/notes``."""
    env = os.environ.get("PIXELPLAYER_DATA_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "pixelplayer" / "notes"


def resample(audio: np.ndarray, rate_in: int, rate_out: int) -> np.ndarray:
    """Band-limited resampling along the last axis by FFT (signals start and end in silence)."""
    if rate_in == rate_out:
        return audio
    n_in = audio.shape[-1]
    n_out = int(round(n_in * rate_out / rate_in))
    spectrum = np.fft.rfft(audio, axis=-1)
    bins = min(spectrum.shape[-1], n_out // 2 + 1)
    taper = np.ones(bins)
    edge = max(1, bins // 20)
    taper[-edge:] = 0.5 + 0.5 * np.cos(np.linspace(0, np.pi, edge))
    out = np.zeros(audio.shape[:-1] + (n_out // 2 + 1,), dtype=spectrum.dtype)
    out[..., :bins] = spectrum[..., :bins] * taper
    return (np.fft.irfft(out, n_out, axis=-1) * (n_out / n_in)).astype(np.float32)


class NoteBank:
    """Rendered notes of General MIDI voices from one soundfont, at one sample rate.

    With ``persist`` (training), each voice is rendered whole on first use and kept as a
    memory-mapped ``.npy`` in ``cache_dir`` (default ``default_cache_dir()``); without it (evaluation
    scenes at 44.1 kHz, whose tables would be large), single notes are rendered as needed and kept
    in memory.
    """

    def __init__(self, sample_rate: int = 11025, soundfont: str = SOUNDFONT, cache_dir: Path | None = None,
                 persist: bool = True):
        self.sample_rate = sample_rate
        self.soundfont = soundfont
        self.cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
        self.persist = persist
        self._tables: dict[Voice, np.ndarray] = {}
        self._notes: dict[tuple[Voice, int, int], np.ndarray] = {}
        self._synth = None
        self._sfid = -1

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_tables": {}, "_notes": {}, "_synth": None, "_sfid": -1}

    def note(self, voice: Voice, key: int, layer: int) -> np.ndarray:
        """Samples (float16) of ``key`` played at velocity ``LAYERS[layer]`` and held."""
        if self.persist:
            return self.table(voice)[voice.keys.index(key), layer]
        found = self._notes.get((voice, key, layer))
        if found is None:
            found = self._notes[(voice, key, layer)] = self._render(voice, [(key, LAYERS[layer])])[0]
        return found

    def table(self, voice: Voice) -> np.ndarray:
        """(keys, layers, samples) float16 notes of ``voice``, rendered and cached on first use."""
        table = self._tables.get(voice)
        if table is None:
            path = self.cache_dir / f"{Path(self.soundfont).stem}-{self.sample_rate}-{voice.key}-v{CACHE_VERSION}.npy"
            if not path.exists():
                self.cache_dir.mkdir(parents=True, exist_ok=True)
                tmp = path.with_suffix(f".{os.getpid()}.tmp.npy")
                notes = self._render(voice, [(k, v) for k in voice.keys for v in LAYERS])
                np.save(tmp, notes.reshape(len(voice.keys), len(LAYERS), -1))
                os.replace(tmp, path)
            table = self._tables[voice] = np.load(path, mmap_mode="r")
        return table

    def has(self, voice: Voice) -> bool:
        """Whether the soundfont holds the voice's preset."""
        return self._fluid().program_select(0, self._sfid, voice.bank, voice.program) == 0

    def _fluid(self):
        import fluidsynth

        if self._synth is None:
            self._synth = fluidsynth.Synth(gain=0.5, samplerate=float(max(FLUID_RATE, self.sample_rate)),
                                           **{"synth.reverb.active": 0, "synth.chorus.active": 0})
            self._sfid = self._synth.sfload(self.soundfont)
            if self._sfid < 0:
                raise FileNotFoundError(f"cannot load soundfont {self.soundfont}")
        return self._synth

    def _render(self, voice: Voice, notes: list[tuple[int, int]]) -> np.ndarray:
        """(len(notes), samples) float16 for (key, velocity) pairs, faded out at the end."""
        rate = max(FLUID_RATE, self.sample_rate)
        rendered = resample(self._raw(voice, notes, rate), rate, self.sample_rate)
        fade = int(END_FADE * self.sample_rate)
        rendered[:, -fade:] *= np.linspace(1.0, 0.0, fade, dtype=np.float32)
        return rendered.astype(np.float16)

    def _raw(self, voice: Voice, notes: list[tuple[int, int]], rate: int) -> np.ndarray:
        """(len(notes), NOTE_SECONDS * rate) float32 of each note held, at ``rate``."""
        synth = self._fluid()
        if not self.has(voice):
            raise ValueError(f"{self.soundfont} has no preset {voice.bank}:{voice.program}")
        n = int(NOTE_SECONDS * rate)
        raw = np.empty((len(notes), n), dtype=np.float32)
        for i, (key, velocity) in enumerate(notes):
            synth.noteon(0, key, velocity)
            raw[i] = synth.get_samples(n).astype(np.float32).reshape(-1, 2).mean(axis=1) / 32768.0
            synth.all_sounds_off(0)
            synth.get_samples(256)
        return raw

    def play(self, instrument: Instrument, voice: Voice, notes: list[Note], start: float, n_samples: int) -> np.ndarray:
        """Mono float32 audio of ``notes`` over ``n_samples`` samples beginning at time ``start``."""
        sr = self.sample_rate
        out = np.zeros(n_samples, dtype=np.float32)
        layers = np.array(LAYERS)
        tail = int(4 * instrument.release * sr)
        fade = np.exp(-np.arange(tail, dtype=np.float32) / (instrument.release * sr))
        for note in notes:
            layer = int(np.abs(layers - note.velocity).argmin())
            held = int(note.duration * sr)
            length = min(held + tail, int(NOTE_SECONDS * sr))
            begin = int(round((note.onset - start) * sr))
            lo, hi = max(begin, 0), min(begin + length, n_samples)
            if hi <= lo:
                continue
            seg = self.note(voice, note.key, layer)[lo - begin:hi - begin].astype(np.float32)
            if held < hi - begin:
                f0 = max(held, lo - begin)
                seg[f0 - (lo - begin):] *= fade[f0 - held:hi - begin - held]
            out[lo:hi] += seg * (note.velocity / LAYERS[layer]) ** 2
        return out


class PatchBank(NoteBank):
    """Notes of a Gravis-patch set (Debian's ``freepats``) rendered by TiMidity++; ``soundfont`` is the
    set's TiMidity configuration file (``/etc/timidity/freepats.cfg``)."""

    GAP = 0.5  # seconds of silence between the rendered notes

    def has(self, voice: Voice) -> bool:
        tones, drums = self._patches()
        return voice.program in tones if voice.bank != DRUM_BANK else voice.program == 0 and bool(drums)

    def _patches(self) -> tuple[set[int], set[int]]:
        """Programs of bank 0 and keys of drum set 0 that the configuration maps to a patch file."""
        tones: set[int] = set()
        drums: set[int] = set()
        section = None
        for line in Path(self.soundfont).read_text().splitlines():
            words = line.split("#")[0].split()
            if len(words) >= 2 and words[0] in ("bank", "drumset"):
                section = (tones if words[0] == "bank" else drums) if words[1] == "0" else None
            elif len(words) >= 2 and words[0].isdigit() and section is not None:
                section.add(int(words[0]))
        return tones, drums

    def _raw(self, voice: Voice, notes: list[tuple[int, int]], rate: int) -> np.ndarray:
        import subprocess
        import tempfile

        import soundfile as sf

        if not self.has(voice):
            raise ValueError(f"{self.soundfont} has no patch for {voice.bank}:{voice.program}")
        channel = 9 if voice.bank == DRUM_BANK else 0
        with tempfile.TemporaryDirectory() as tmp:
            midi, wav = Path(tmp) / "notes.mid", Path(tmp) / "notes.wav"
            midi.write_bytes(_midi_file(channel, voice.program, notes, NOTE_SECONDS, self.GAP))
            subprocess.run(["timidity", "-c", self.soundfont, "-Ow", "-o", str(wav), "-s", str(rate),
                            "--output-mono", "-EFreverb=0", "-EFchorus=0", "-A100", str(midi)],
                           check=True, capture_output=True)
            audio, found = sf.read(wav, dtype="float32", always_2d=True)
        if found != rate:
            raise RuntimeError(f"timidity wrote {found} Hz instead of {rate} Hz")
        audio = audio.mean(axis=1)
        n, step = int(NOTE_SECONDS * rate), int(round((NOTE_SECONDS + self.GAP) * rate))
        raw = np.zeros((len(notes), n), np.float32)
        for i in range(len(notes)):
            part = audio[i * step: i * step + n]
            raw[i, :len(part)] = part
        return raw


def _midi_file(channel: int, program: int, notes: list[tuple[int, int]], hold: float, gap: float) -> bytes:
    """A one-track MIDI file: a program change, then each (key, velocity) held ``hold`` s, ``gap`` s apart."""
    ticks = 960  # per second: 480 per quarter note at 120 bpm

    def number(value: int) -> bytes:  # MIDI variable-length quantity
        out = [value & 0x7F]
        while value > 0x7F:
            value >>= 7
            out.append(0x80 | (value & 0x7F))
        return bytes(reversed(out))

    events = number(0) + bytes([0xC0 | channel, program])
    for key, velocity in notes:
        events += number(0) + bytes([0x90 | channel, key, velocity])
        events += number(int(hold * ticks)) + bytes([0x80 | channel, key, 0])
        events += number(int(gap * ticks)) + bytes([0xB0 | channel, 123, 0])  # all notes off: the gap's end
    events += number(0) + b"\xff\x2f\x00"
    header = b"MThd" + (6).to_bytes(4, "big") + (0).to_bytes(2, "big") + (1).to_bytes(2, "big") + (480).to_bytes(2, "big")
    return header + b"MTrk" + len(events).to_bytes(4, "big") + events
