"""training/nametune.py: tuning the audio side to the names fits each name's query to its instrument's
phrases, holds the components near where they were and leaves the picture's side of the model as it was."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from pixelplayer_blender.core.checkpoint import load_checkpoint
from pixelplayer_blender.training import INSTRUMENTS, NAMES, NoteBank
from pixelplayer_blender.training.nametune import Mixtures, NameTuner, Settings
from pixelplayer_blender.training.solo import perform

ROOT = Path(__file__).resolve().parents[2]
PLAYED = ("violin", "trumpet", "flute", "piano")


def pool(bank: NoteBank, samples: int, each: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    labels = np.repeat([NAMES.index(n) for n in PLAYED], each)
    audio = [perform(bank, INSTRUMENTS[label], rng, samples).audio[:samples] for label in labels]
    return np.stack([np.pad(a, (0, samples - len(a))) for a in audio]).astype(np.float16), labels


def test_tuning_fits_the_names_queries_and_leaves_the_picture_side_alone(tmp_path):
    torch.manual_seed(0)
    model = load_checkpoint(ROOT / "models" / "pixelplayer.pt")
    samples = model.net.config.window_samples
    bank = NoteBank(model.net.config.sample_rate, persist=False)
    picture = {k: v.clone() for k, v in model.net.state_dict().items() if not k.startswith(("audio.", "synth."))}
    tuner = NameTuner(model, *pool(bank, samples, 3, seed=0), Settings(batch=4, lr=3e-4, warmup=5), seed=0)
    mixtures = tuner.mixtures.draw()  # mixtures of the pool's phrases, shifted and at gains the steps will not draw again
    queries = tuner.queries.detach().clone()
    with torch.no_grad():
        before = tuner.losses(*mixtures)
    moved = [tuner.step()["moved"] for _ in range(30)]
    with torch.no_grad():
        after = tuner.losses(*mixtures)
    assert after["total"] < before["total"] - 0.1  # 0.3 x the shared error in dB, mostly
    assert after["shared_error_db"] < before["shared_error_db"]
    assert not torch.equal(tuner.queries, queries)
    assert 0 < moved[-1] < 0.2  # the components moved, held near where they started

    saved = load_checkpoint(tuner.save(tmp_path / "tuned.pt", note="test"))
    assert saved.metadata["names_tuned"] == {"note": "test"}
    assert set(saved.metadata["prototypes"]) == set(model.metadata["prototypes"])
    assert all(0 <= x <= 1 for value in saved.metadata["prototypes"].values() for x in value)
    state = saved.net.state_dict()
    assert all(torch.equal(state[k], v) for k, v in picture.items())


def one_phrase_each() -> tuple[np.ndarray, np.ndarray]:
    """A pool of one phrase of each of :data:`PLAYED`, a window of the shipped model long."""
    config = load_checkpoint(ROOT / "models" / "pixelplayer.pt").net.config
    return pool(NoteBank(config.sample_rate, persist=False), config.window_samples, 1, seed=0)


def test_a_silent_player_is_drawn_with_its_name_and_no_sound():
    sources, names = Mixtures(*one_phrase_each(), Settings(batch=3, silent=1.0)).draw()
    assert sources[:, -1].abs().max() == 0 and sources[:, 0].abs().amax(-1).min() > 0
    assert all(len(set(row.tolist())) == len(row) for row in names)  # distinct names, the silent one's too


def test_an_extra_silent_player_joins_the_sounding_ones():
    sources, names = Mixtures(*one_phrase_each(), Settings(batch=3, trios=0.0, extra_silent=1.0)).draw()
    assert sources.shape[1] == 3  # a duet and a silent player
    assert sources[:, -1].abs().max() == 0 and sources[:, :2].abs().amax(-1).min() > 0
    assert all(len(set(row.tolist())) == len(row) for row in names)


def test_a_dense_source_plays_on_through_its_rests():
    audio, labels = one_phrase_each()
    audio[:, : audio.shape[1] // 2] = 0  # a phrase that rests half the time
    pooled = np.sort(np.abs(audio[0].astype(np.float32)))

    def phrase(**settings) -> np.ndarray:
        return Mixtures(audio, labels, Settings(**settings)).phrase(int(labels[0]))

    plain, dense = phrase(), phrase(dense=1.0)
    assert np.array_equal(np.sort(np.abs(plain)), pooled)  # the pooled phrase, only shifted
    assert np.count_nonzero(dense == 0) < np.count_nonzero(plain == 0)  # another phrase plays in its rest
