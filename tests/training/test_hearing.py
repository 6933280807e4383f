"""training/hearing.py: the tagger's usual level of an instrument it hears, and none for one it cannot."""
from __future__ import annotations

import numpy as np
import pytest

from pixelplayer_blender.core.checkpoint import default_checkpoint, load_checkpoint
from pixelplayer_blender.training import INSTRUMENTS, NAMES, NoteBank
from pixelplayer_blender.training.hearing import FLOOR, audibility, main
from pixelplayer_blender.training.solo import perform


def test_an_instrument_the_tagger_hears_gets_its_level_and_a_silent_one_none():
    net = load_checkpoint(default_checkpoint()).net
    bank = NoteBank(net.config.sample_rate, persist=False)
    violin, piano, banjo, voice = (NAMES.index(n) for n in ("violin", "piano", "banjo", "voice"))

    def play(label: int, rng: np.random.Generator, samples: int) -> np.ndarray:
        """FluidR3 phrases; the "voice" never sings, as an instrument the tagger cannot hear."""
        audio = perform(bank, INSTRUMENTS[label], rng, samples).audio
        return np.zeros_like(audio) if label == voice else audio

    levels = audibility(net.heard, play, [violin, piano, banjo, voice], net.config.sample_rate,
                        np.random.default_rng(0), mixtures=6)
    assert set(levels) == {violin, piano, banjo, voice}
    assert levels[voice] == 0.0
    assert all(levels[label] >= FLOOR for label in (violin, piano, banjo)), levels


def test_measuring_a_checkpoint_without_ears_says_so_and_writes_nothing(bundled_without, tmp_path):
    out = tmp_path / "out.pt"
    with pytest.raises(SystemExit, match="has no tagger"):
        main([str(bundled_without("heard", tagger="")), str(tmp_path / "raw"), str(out)])
    assert not out.exists()
