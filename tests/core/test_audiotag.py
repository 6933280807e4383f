"""The tagger: band-limited resampling, and the bundled model's ears on scenes with a visible silent player."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from pixelplayer_blender.core import media
from pixelplayer_blender.core.audiotag import HEARD_AS, class_map, resample
from pixelplayer_blender.core.checkpoint import default_checkpoint
from pixelplayer_blender.core.query import Point
from pixelplayer_blender.core.separator import Separator
from pixelplayer_blender.training import NoteBank
from pixelplayer_blender.training.scenes import compose_scene, write_scene

SEEDS = (0, 1, 2)


def test_resampling_keeps_a_tone_and_its_level():
    rate, tone = 11025, 1000.0
    wave = torch.sin(2 * torch.pi * tone * torch.arange(rate * 2) / rate)[None]
    out = resample(wave, rate, 16000)[0]
    assert out.shape[-1] == 32000
    spectrum = torch.fft.rfft(out[8000:24000]).abs()
    assert abs(int(spectrum.argmax()) * 16000 / 16000 - tone) <= 1
    assert abs(float(out[1000:-1000].pow(2).mean().sqrt()) - 2 ** -0.5) < 0.01


def test_every_name_is_heard_as_classes_the_tagger_has():
    classes = ["Music", "Flute", *HEARD_AS["drums"]]
    table = class_map(("flute", "drums", "oboe"), classes)
    assert table.tolist() == [[0, 1, 0, 0, 0, 0, 0], [0, 0, 1, 1, 1, 1, 1], [0] * 7]  # no classes: never heard
    with pytest.raises(ValueError, match="no class 'Violin, fiddle'"):
        class_map(("violin",), classes)
    assert all(names for names in HEARD_AS.values())


@pytest.fixture(scope="module")
def scenes(tmp_path_factory) -> list[dict]:
    """One sounding and one visible silent instrument each (held-out emoji scenes, FluidR3)."""
    out = tmp_path_factory.mktemp("silent-scenes")
    bank = NoteBank(22050, persist=False)
    docs = []
    for seed in SEEDS:
        scene = compose_scene(seed, 1, 320, 180, 12, 6.0, bank, silent_prob=1.0)
        sidecar = write_scene(scene, out, f"silent_{seed}")
        docs.append({**json.loads(sidecar.read_text()), "folder": out})
    return docs


@pytest.fixture(scope="module")
def deaf_checkpoint(bundled_without):
    """The bundled model without its tagger."""
    return bundled_without("heard", tagger="")


def _click(source: dict) -> Point:
    return Point(source["click"]["x"], source["click"]["y"], time=source["click"]["time"])


def _level_db(audio: np.ndarray, mixture: np.ndarray) -> float:
    energy = np.sum(audio.astype(np.float64) ** 2)
    return float(10 * np.log10(max(energy, 1e-20) / np.sum(mixture.astype(np.float64) ** 2)))


def test_the_bundled_model_hears_what_plays_and_keeps_a_silent_player_silent(scenes, deaf_checkpoint, tmp_path):
    ears, deaf = (Separator(checkpoint=c, cache_dir=tmp_path / "cache")
                  for c in (default_checkpoint(), deaf_checkpoint))
    labels = ears.model.net.config.labels
    assert ears.model.net.heard is not None and ears.model.metadata["tagger_source"]
    silent_db, deaf_db, named = [], [], []
    for doc in scenes:
        video = doc["folder"] / doc["video"]
        mixture = media.decode_audio(video)
        playing, silent = doc["sources"][0], doc["silent"][0]
        analysis = ears.analyze(video)
        heard = analysis.heard.astype(np.float32).mean(0)
        assert heard[labels.index(playing["name"])] > heard[labels.index(silent["name"])]
        named.append(ears.isolate(analysis, [_click(playing)]).sources[0].label == playing["name"])
        silent_db.append(_level_db(ears.isolate(analysis, [_click(silent)]).sources[0].audio, mixture))
        without = deaf.analyze(video)
        assert without.heard.shape == (without.windows, 0)
        deaf_db.append(_level_db(deaf.isolate(without, [_click(silent)]).sources[0].audio, mixture))
    assert sum(named) >= 2, named
    # Without ears a silent player's click follows its picture's name, which the clip hardly holds: quiet already.
    assert np.median(silent_db) < -20 and np.median(silent_db) < np.median(deaf_db) - 3, (silent_db, deaf_db)
