"""ImageNet's eyes: the class table, the frame size, the blend with the label head, and the bundled model's
eyes inside an analysis (a held-out emoji duet, and the same model without eyes)."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from pixelplayer_blender.core import eyes
from pixelplayer_blender.core.checkpoint import default_checkpoint, load_checkpoint
from pixelplayer_blender.core.isolate import query_looks
from pixelplayer_blender.core.query import Point
from pixelplayer_blender.core.separator import Separator
from pixelplayer_blender.training import NoteBank
from pixelplayer_blender.training.scenes import compose_scene, write_scene


def test_a_class_seen_as_several_names_is_shared_among_them():
    classes = ["banjo", "drum, membranophone, tympan", "tabby, tabby cat"]
    table = eyes.class_map(("banjo", "conga", "tabla", "kazoo"), classes)  # kazoo: never seen
    assert table.tolist() == [[1, 0, 0, 0], [0, 0.5, 0.5, 0], [0, 0, 0, 0]]
    with pytest.raises(ValueError, match="no class 'violin, fiddle'"):
        eyes.class_map(("violin",), classes)


def test_every_name_of_the_bundled_model_is_seen_as_an_imagenet_class():
    model = load_checkpoint(default_checkpoint())
    assert model.net.eyes is not None and model.metadata["eyes_source"]
    table = model.net.eyes.classes.float()
    assert set(model.net.config.labels) <= set(eyes.SEEN_AS)
    assert (table.sum(0) > 0).all() and torch.allclose(table.sum(1)[table.sum(1) > 0], torch.tensor(1.0), atol=1e-3)


@pytest.mark.parametrize("width, height, expected", [(1280, 720, (384, 224)), (720, 1280, (224, 384)),
                                                     (448, 224, (448, 224)), (4000, 500, (672, 224)),
                                                     (20, 20, (224, 224))])
def test_frames_keep_their_proportions_on_imagenet_s_scale(width, height, expected):
    assert eyes.frame_size(width, height) == expected


def test_the_eyes_speak_for_frames_where_they_see_an_instrument():
    frame = torch.zeros(3, 2, 2)  # (labels, h, w)
    assert eyes.trust(frame) == 0  # a drawing ImageNet does not know
    frame[2, 0, 1] = eyes.SURE / 2
    assert eyes.trust(frame) == 0.5
    frame[1, 1, 1] = 0.9
    assert eyes.trust(torch.stack([frame, frame])).tolist() == [1, 1]
    sure = torch.tensor([0.95, 0.03, 0.02])
    assert torch.allclose(eyes.blend(sure, torch.tensor([0.0, 0.9, 0.0]), torch.tensor([1.0])), sure)
    head = torch.tensor([0.7, 0.2, 0.1])
    assert torch.allclose(eyes.blend(head, torch.zeros(3), torch.tensor([0.0])), head)
    assert torch.allclose(eyes.blend(head, torch.tensor([0.0, 0.9, 0.0]), torch.tensor([1.0])),
                          torch.tensor([0.0, 0.9, 0.0]))
    assert torch.allclose(eyes.blend(head, torch.zeros(3), torch.tensor([1.0])), torch.zeros(3))  # background
    seen, trusted = eyes.at(torch.tensor([[0.0, 0.1, 0.05], [0.0, 0.0, 0.0]]))
    assert torch.allclose(seen[0], torch.tensor([0.0, 2 / 3, 1 / 3]))
    assert torch.allclose(trusted[:, 0], torch.tensor([0.6, 0.0]))


@pytest.fixture(scope="module")
def duet(tmp_path_factory) -> dict:
    bank = NoteBank(22050, persist=False)
    scene = compose_scene(3, 2, 320, 180, 12, 6.0, bank, silent_prob=0.0)
    sidecar = write_scene(scene, tmp_path_factory.mktemp("duet"), "duet")
    doc = json.loads(sidecar.read_text())
    return {"doc": doc, "video": sidecar.parent / doc["video"]}


@pytest.fixture(scope="module")
def blind_checkpoint(bundled_without):
    """The bundled model without its eyes."""
    return bundled_without("eyes", eyes="")


def test_an_analysis_keeps_what_the_eyes_see_in_each_window(duet, blind_checkpoint, tmp_path):
    separator = Separator(cache_dir=tmp_path / "cache")
    analysis = separator.analyze(duet["video"])
    labels = separator.model.net.config.labels
    w, h = eyes.frame_size(320, 180)
    assert analysis.seen.shape == (analysis.windows, len(labels), h // eyes.STRIDE, w // eyes.STRIDE)
    assert analysis.seen.min() >= 0 and analysis.seen.astype(np.float32).sum(1).max() <= 1.001
    again = Separator(cache_dir=tmp_path / "cache").analyze(duet["video"])
    assert again.cached and np.array_equal(again.seen, analysis.seen)
    clicks = [Point(s["click"]["x"], s["click"]["y"], time=s["click"]["time"]) for s in duet["doc"]["sources"]]
    for click in clicks:
        seen, trusted = query_looks(analysis, click)
        assert seen.shape == (analysis.windows, len(labels)) and trusted.shape == (analysis.windows, 1)

    blind = Separator(checkpoint=blind_checkpoint, cache_dir=tmp_path / "cache")
    without = blind.analyze(duet["video"])
    assert without.seen.shape == (without.windows, 0, 1, 1) and query_looks(without, clicks[0]) is None
    # Emoji drawings are not ImageNet's: the label head names them with or without the eyes.
    seeing = [s.label for s in separator.isolate(analysis, clicks).sources]
    assert seeing == [s.label for s in blind.isolate(without, clicks).sources]
    assert sum(label == s["name"] for label, s in zip(seeing, duet["doc"]["sources"])) >= 1


def test_clicks_the_picture_names_follow_their_names_tuned_by_ear(duet, tmp_path):
    separator = Separator(cache_dir=tmp_path / "cache")
    analysis = separator.analyze(duet["video"])
    clicks = [Point(s["click"]["x"], s["click"]["y"], time=s["click"]["time"]) for s in duet["doc"]["sources"]]
    labels = tuple(s.label for s in separator.isolate(analysis, clicks).sources)
    known = set(separator.model.metadata["prototypes"])
    assert set(labels) <= known  # both named surely, so both follow their names' sounds
    assert list(separator._tuned[analysis.key]) == [labels]
