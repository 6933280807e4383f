"""training/prototypes.py: a prototype fitted to an instrument's sound finds that instrument in new mixtures."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from pixelplayer_blender.core.checkpoint import load_checkpoint
from pixelplayer_blender.training import INSTRUMENTS, NAMES, NoteBank
from pixelplayer_blender.training.objective import MixAndSeparate
from pixelplayer_blender.training.prototypes import mask_loss, phrase_mixtures, sound_prototypes
from pixelplayer_blender.training.solo import perform

ROOT = Path(__file__).resolve().parents[2]


def test_a_prototype_fitted_to_a_sound_pulls_that_instrument_out_of_new_mixtures():
    model = load_checkpoint(ROOT / "models" / "pixelplayer.pt")
    objective = MixAndSeparate(model.net)
    bank = NoteBank(model.net.config.sample_rate, persist=False)

    def play(label: int, rng: np.random.Generator, samples: int) -> np.ndarray:
        return perform(bank, INSTRUMENTS[label], rng, samples).audio

    violin = NAMES.index("violin")
    others = [NAMES.index(n) for n in ("trumpet", "flute", "piano", "guitar")]
    fitted = sound_prototypes(objective, play, [violin], others, mixtures=8, steps=60)
    assert list(fitted) == ["violin"] and all(0 <= x <= 1 for x in fitted["violin"])
    with torch.no_grad():  # new mixtures: other phrases, other partners
        mix, phrase, comps = phrase_mixtures(objective, play, violin, others, np.random.default_rng(99), 8)

        def scores(feature: list[float]) -> tuple[float, float]:
            """The objective's loss, and the SDR (dB) of the masked mixture against the violin's magnitudes."""
            query = torch.tensor(feature)
            mask = torch.sigmoid(model.net.synth(query.expand(len(mix), 1, -1), comps)[:, 0])
            error = ((phrase - mask * mix) ** 2).sum()
            loss = mask_loss(objective, query, mix, phrase, comps)
            return float(loss), float(10 * torch.log10((phrase ** 2).sum() / error))

        heard, seen = scores(fitted["violin"]), scores(model.metadata["prototypes"]["violin"])
        wrong = [scores(model.metadata["prototypes"][n]) for n in ("trumpet", "flute", "piano")]
    mixture_sdr = float(10 * torch.log10((phrase ** 2).sum() / ((phrase - mix) ** 2).sum()))
    assert heard[1] > mixture_sdr + 3  # it separates: several dB over handing back the mixture
    assert heard[1] > seen[1] - 2  # about as well as the violin's mean clicked feature from pictures
    assert all(heard[0] < w[0] and heard[1] > w[1] for w in wrong)  # and better than other instruments' queries
