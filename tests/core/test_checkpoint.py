"""Networks and checkpoints: presets, shapes, safe loading, clear errors."""
from __future__ import annotations

import dataclasses

import pytest
import torch

from pixelplayer_blender.core.checkpoint import (FORMAT, default_checkpoint, load_checkpoint, load_model,
                                                 save_checkpoint, untrained_model)
from pixelplayer_blender.core.config import PRESETS
from pixelplayer_blender.core.errors import PixelPlayerError
from pixelplayer_blender.core.nets import PixelPlayerNet


@pytest.mark.parametrize("preset", ["tiny", "lite", "paper"])
def test_preset_shapes(preset):
    config = PRESETS[preset]
    net = PixelPlayerNet(config).eval()
    with torch.no_grad():
        comps = net.components(torch.randn(1, 1, config.log_bins, config.frames))
        feats = net.pixel_features(torch.randint(0, 255, (2, 3, config.image_size, config.image_size),
                                                 dtype=torch.uint8))
        mask = net.synth(feats[:, None, :, 0, 0], comps.expand(2, -1, -1, -1))[:, 0]
    assert comps.shape == (1, config.k, config.log_bins, config.frames)
    assert feats.shape[:2] == (2, config.k) and feats.min() >= 0 and feats.max() <= 1
    assert mask.shape == (2, config.log_bins, config.frames)


def test_paper_preset_is_the_papers():
    paper = PRESETS["paper"]
    assert (paper.k, paper.sample_rate, paper.log_bins, paper.video_frames, paper.unet_levels) == (32, 11025, 256, 3, 7)
    assert paper.video_net == "resnet18-dilated" and abs(paper.window_seconds - 5.94) < 0.01
    net = PixelPlayerNet(paper)
    assert net.pixel_features(torch.zeros(1, 3, 224, 224, dtype=torch.uint8)).shape[-2:] == (14, 14)


def test_round_trip_keeps_weights_config_and_metadata(tmp_path):
    config = dataclasses.replace(PRESETS["tiny"], labels=("violin", "trumpet"))
    net = PixelPlayerNet(config)
    path = save_checkpoint(tmp_path / "m.pt", net, {"trained": True, "data": "synthetic"})
    loaded = load_checkpoint(path)
    assert loaded.trained and loaded.metadata["data"] == "synthetic" and loaded.metadata["engine_version"]
    assert loaded.net.config == config
    for (k, a), (_, b) in zip(net.state_dict().items(), loaded.net.state_dict().items()):
        assert torch.equal(a, b), k
    assert load_model(path).model_id == loaded.model_id


def test_default_model_is_the_bundled_one_else_an_untrained_stand_in_that_says_so():
    model = load_model(None)
    assert model.trained == (default_checkpoint() is not None)
    stand_in = untrained_model()
    assert not stand_in.trained and "UNTRAINED" in stand_in.metadata["warning"]


def test_bad_checkpoints(tmp_path):
    with pytest.raises(PixelPlayerError, match="not found"):
        load_checkpoint(tmp_path / "missing.pt")
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"garbage" * 50)
    with pytest.raises(PixelPlayerError, match="unreadable"):
        load_checkpoint(junk)
    other = tmp_path / "other.pt"
    torch.save({"weights": torch.zeros(3)}, other)
    with pytest.raises(PixelPlayerError, match="incompatible"):
        load_checkpoint(other)
    mismatched = tmp_path / "mismatched.pt"
    state = {"format": FORMAT, "config": PRESETS["tiny"].to_dict(), "metadata": {},
             "state_dict": PixelPlayerNet(PRESETS["lite"]).state_dict()}
    torch.save(state, mismatched)
    with pytest.raises(PixelPlayerError, match="incompatible"):
        load_checkpoint(mismatched)


@pytest.mark.parametrize("cut", [0, 100, 0.5, -1])
def test_truncated_checkpoint_names_the_file_and_the_problem(tmp_path, cut):
    model = untrained_model(preset="tiny")
    whole = save_checkpoint(tmp_path / "whole.pt", model.net, model.metadata).read_bytes()
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(whole[: int(len(whole) * cut) if isinstance(cut, float) else cut % len(whole)])
    with pytest.raises(PixelPlayerError, match=f"checkpoint {truncated} is unreadable: truncated, corrupt"):
        load_checkpoint(truncated)


@pytest.mark.parametrize("part, value", [("metadata", ["trained"]), ("metadata", "trained"), ("config", [1]),
                                         ("state_dict", [1])])
def test_parts_of_the_wrong_type_are_named(tmp_path, part, value):
    state = {"format": FORMAT, "config": PRESETS["tiny"].to_dict(), "metadata": {},
             "state_dict": PixelPlayerNet(PRESETS["tiny"]).state_dict(), part: value}
    torch.save(state, tmp_path / "odd.pt")
    with pytest.raises(PixelPlayerError, match=f"its '{part}' is a {type(value).__name__}, not a dict"):
        load_checkpoint(tmp_path / "odd.pt")


def test_checkpoints_cannot_run_code(tmp_path):
    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    evil = tmp_path / "evil.pt"
    torch.save({"format": FORMAT, "payload": Evil()}, evil)
    with pytest.raises(PixelPlayerError, match="never loaded since they could run code"):
        load_checkpoint(evil)
