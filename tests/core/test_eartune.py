"""Named picks tuned to the clip by ear, with the bundled model on a held-out duet (FluidR3 emoji scene)."""
from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import torch

from pixelplayer_blender.core import eartune
from pixelplayer_blender.core.checkpoint import default_checkpoint, load_checkpoint, save_checkpoint
from pixelplayer_blender.core.errors import Cancelled
from pixelplayer_blender.core.isolate import named_features, prototype
from pixelplayer_blender.core.nets import PixelPlayerNet
from pixelplayer_blender.core.query import Point
from pixelplayer_blender.core.separator import Separator
from pixelplayer_blender.core.spectral import FrontEnd, unwarp_matrix
from pixelplayer_blender.training import NoteBank
from pixelplayer_blender.training.scenes import compose_scene, write_scene


@pytest.fixture(scope="module")
def duet(tmp_path_factory) -> dict:
    """A 6 s duet (one analysis window) of two instruments the tagger usually hears, one of them clearly here."""
    separator = Separator(cache_dir=tmp_path_factory.mktemp("cache"))
    audible = separator.model.net.heard.audible
    labels = separator.model.net.config.labels
    bank = NoteBank(22050, persist=False)
    for seed in range(20):
        scene = compose_scene(seed, 2, 320, 180, 12, 6.0, bank, silent_prob=0.0)
        sidecar = write_scene(scene, tmp_path_factory.mktemp("duet"), "duet")
        doc = json.loads(sidecar.read_text())
        if all(audible[labels.index(s["name"])] > 0 for s in doc["sources"]):
            analysis = separator.analyze(sidecar.parent / doc["video"])
            heard = analysis.heard.astype(np.float32).mean(0)
            if any(heard[labels.index(s["name"])] >= eartune.HEARD for s in doc["sources"]):
                return {"doc": doc, "separator": separator, "analysis": analysis}
    raise AssertionError("no held-out duet of instruments the tagger hears in 20 seeds")


def _named(duet) -> list[Point]:
    return [Point(s["click"]["x"], s["click"]["y"], time=s["click"]["time"], name=s["name"])
            for s in duet["doc"]["sources"]]


def test_tuning_makes_each_name_heard_in_its_own_pick(duet):
    separator, analysis = duet["separator"], duet["analysis"]
    model = separator.model
    names = [s["name"] for s in duet["doc"]["sources"]]
    start = torch.stack([prototype(model, n) for n in names])
    flags = [p.requires_grad for p in model.net.parameters()]
    tuned = eartune.tune(model, analysis, separator.clip(analysis), names, start)
    assert tuned.shape == start.shape and ((tuned >= 0) & (tuned <= 1)).all() and not torch.equal(tuned, start)
    assert [p.requires_grad for p in model.net.parameters()] == flags  # the net is left as it was
    front = FrontEnd(analysis.config)
    unwarp = unwarp_matrix(analysis.config.n_fft // 2 + 1, analysis.config.log_bins)
    ids = [analysis.config.labels.index(n) for n in names]
    window = eartune.loudest_windows(analysis, separator.clip(analysis), 1)[0]
    listened = (torch.from_numpy(analysis.components[window]).float()[None],
                front.spectrum(eartune.window_audio(analysis, separator.clip(analysis), window)[None])[0])
    with torch.no_grad():
        before, after = (float(eartune.heard_loss(model.net, front, unwarp, f, ids, *listened)) for f in (start, tuned))
    assert after < before


def test_a_name_not_heard_in_the_clip_keeps_its_prototype(duet, monkeypatch):
    separator, analysis = duet["separator"], duet["analysis"]
    names = [s["name"] for s in duet["doc"]["sources"]]
    start = torch.stack([prototype(separator.model, n) for n in names])
    monkeypatch.setattr(eartune, "HEARD", 1.01)  # no score reaches it
    assert torch.equal(eartune.tune(separator.model, analysis, separator.clip(analysis), names, start), start)


def test_a_window_is_heard_as_the_analysis_heard_it(duet):
    separator, analysis = duet["separator"], duet["analysis"]
    audio = eartune.window_audio(analysis, separator.clip(analysis), 0)
    assert audio.shape == (analysis.config.window_samples,)
    with torch.no_grad():
        heard = separator.model.net.heard(audio[None], analysis.config.sample_rate)[0]
    analysed = analysis.heard[0].astype(np.float32)  # its own resampler: close, not equal
    assert heard.argmax() == analysed.argmax() and np.allclose(heard.numpy(), analysed, atol=0.05)


def test_a_cached_analysis_s_clip_is_read_from_its_first_window(duet):
    """After a cached analysis the clip is decoded on first use: its first window is read all the same."""
    separator, analysis = duet["separator"], duet["analysis"]
    again = Separator(cache_dir=separator.cache_dir)
    cached = again.analyze(analysis.info.path)
    assert torch.equal(eartune.window_audio(cached, again.clip(cached), 0),
                       eartune.window_audio(analysis, separator.clip(analysis), 0))
    assert eartune.loudest_windows(cached, again.clip(cached)) == eartune.loudest_windows(analysis,
                                                                                       separator.clip(analysis))


def test_named_picks_are_tuned_once_per_set_of_names(duet):
    separator, analysis = duet["separator"], duet["analysis"]
    first = separator.isolate(analysis, _named(duet))
    kept = separator._tuned[analysis.key]
    assert list(kept) == [tuple(s["name"] for s in duet["doc"]["sources"])]
    again = separator.isolate(analysis, _named(duet))
    assert all(np.array_equal(a.audio, b.audio) for a, b in zip(first.sources, again.sources))
    separator.isolate(analysis, _named(duet)[::-1])
    assert len(kept) == 2  # another set of names is tuned anew
    alone = separator.isolate(analysis, _named(duet)[:1])  # a lone pick follows its prototype, kept nowhere
    assert len(kept) == 2 and alone.sources[0].label == duet["doc"]["sources"][0]["name"]


def test_tuning_reports_progress_and_stops_when_cancelled(duet):
    separator, analysis = duet["separator"], duet["analysis"]
    separator._tuned.clear()
    seen = []
    with pytest.raises(Cancelled):
        separator.isolate(analysis, _named(duet), lambda f, m: seen.append((f, m)), lambda: len(seen) >= 3)
    assert seen == [(i / eartune.STEPS / 2, "tuning by ear") for i in range(3)]
    assert not separator._tuned[analysis.key]  # nothing half-tuned is kept
    seen.clear()
    separator.isolate(analysis, _named(duet), lambda f, m: seen.append((f, m)))
    fractions = [f for f, _ in seen]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert {m for _, m in seen} == {"tuning by ear", "masks", "inverting", "done"}


def test_a_model_without_a_tagger_follows_the_prototypes(duet, tmp_path):
    model = load_checkpoint(default_checkpoint())
    net = PixelPlayerNet(dataclasses.replace(model.net.config, tagger=""))
    net.load_state_dict({k: v for k, v in model.net.state_dict().items() if not k.startswith("heard.")})
    deaf = Separator(checkpoint=save_checkpoint(tmp_path / "deaf.pt", net, model.metadata), cache_dir=tmp_path)
    analysis = deaf.analyze(duet["analysis"].info.path)
    names = [s["name"] for s in duet["doc"]["sources"]]
    features = named_features(deaf.model, analysis, deaf.clip(analysis), [n.upper() for n in names], {})
    assert all(torch.equal(f, prototype(deaf.model, n)) for f, n in zip(features, names))
