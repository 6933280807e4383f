"""scripts/average.py: the mean of like checkpoints, and a clear refusal of unlike ones."""
from __future__ import annotations

import dataclasses
import subprocess
import sys

import pytest
import torch

from pixelplayer_blender.core.checkpoint import load_checkpoint, save_checkpoint
from pixelplayer_blender.core.config import PRESETS
from pixelplayer_blender.core.errors import PixelPlayerError
from pixelplayer_blender.core.nets import PixelPlayerNet
from scripts import average

CONFIG = dataclasses.replace(PRESETS["tiny"], labels=("violin", "trumpet"))


def saved(path, seed: int, config=CONFIG):
    torch.manual_seed(seed)
    net = PixelPlayerNet(config)
    return save_checkpoint(path, net, {"trained": True, "data": f"seed {seed}", "validation": {"total": 0.5},
                                       "prototypes": {"violin": [float(seed)] * config.k}})


def test_average_is_the_mean_of_the_weights(tmp_path):
    paths = [saved(tmp_path / f"{seed}.pt", seed) for seed in (1, 2, 3)]
    soup = load_checkpoint(average.average(tmp_path / "soup.pt", paths))
    states = [load_checkpoint(p).net.state_dict() for p in paths]
    differing = 0
    for key, value in soup.net.state_dict().items():
        if value.is_floating_point():
            differing += not torch.equal(states[0][key], states[1][key])
            torch.testing.assert_close(value, sum(s[key] for s in states) / 3)
        else:
            assert torch.equal(value, states[0][key])
    assert differing > 10  # the seeds gave different weights: the mean is not one of them
    assert soup.net.config == CONFIG and soup.trained
    assert soup.metadata["averaged"] == [str(p) for p in paths] and soup.metadata["data"] == "seed 1"
    assert "validation" not in soup.metadata and "prototypes" not in soup.metadata


def test_unlike_checkpoints_are_refused_and_nothing_is_written(tmp_path):
    a = saved(tmp_path / "a.pt", 1)
    b = saved(tmp_path / "b.pt", 1, dataclasses.replace(CONFIG, labels=("violin", "flute")))
    done = subprocess.run([sys.executable, average.__file__, str(tmp_path / "soup.pt"), str(a), str(b)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode != 0 and "another configuration" in done.stderr
    assert not (tmp_path / "soup.pt").exists()


def test_a_weighted_mean_lies_on_the_line_between_two_checkpoints(tmp_path):
    paths = [saved(tmp_path / f"{seed}.pt", seed) for seed in (1, 2)]
    mix = load_checkpoint(average.average(tmp_path / "mix.pt", paths, [3, 1]))
    a, b = (load_checkpoint(p).net.state_dict() for p in paths)
    for key, value in mix.net.state_dict().items():
        if value.is_floating_point():
            torch.testing.assert_close(value, 0.75 * a[key] + 0.25 * b[key])
    assert mix.metadata["weights"] == [0.75, 0.25]
    with pytest.raises(PixelPlayerError, match="one non-negative weight per checkpoint"):
        average.average(tmp_path / "bad.pt", paths, [1.0])
    assert not (tmp_path / "bad.pt").exists()


def test_parts_move_only_those_networks_of_a_model_with_another_video_net(tmp_path):
    fine = saved(tmp_path / "fine.pt", 1, dataclasses.replace(CONFIG, video_width=CONFIG.video_width * 2))
    start = saved(tmp_path / "start.pt", 2)
    mix = load_checkpoint(average.average(tmp_path / "mix.pt", [fine, start], [3, 1], ["audio", "synth"]))
    a, b = load_checkpoint(fine).net.state_dict(), load_checkpoint(start).net.state_dict()
    moved = 0
    for key, value in mix.net.state_dict().items():
        if key.split(".")[0] in ("audio", "synth") and value.is_floating_point():
            moved += not torch.equal(a[key], b[key])
            torch.testing.assert_close(value, 0.75 * a[key] + 0.25 * b[key])
        else:
            assert torch.equal(value, a[key])  # the video net, heads and counters are the first's
    assert moved > 10
    assert mix.net.config == load_checkpoint(fine).net.config
    # The video net is the first's, so are the prototypes its features make.
    assert mix.metadata["prototypes"] == {"violin": [1.0] * CONFIG.k} and mix.metadata["averaged_parts"] == ["audio", "synth"]
    with pytest.raises(PixelPlayerError, match="only like networks average"):
        average.average(tmp_path / "bad.pt", [fine, start], parts=["video"])
    with pytest.raises(PixelPlayerError, match="no network called"):
        average.average(tmp_path / "bad.pt", [fine, start], parts=["trunk"])
    assert not (tmp_path / "bad.pt").exists()


def test_names_tuned_with_the_audio_side_average_with_it(tmp_path):
    nets = []
    for seed in (1, 2):
        torch.manual_seed(seed)
        nets.append(PixelPlayerNet(CONFIG))
    nets[1].video.load_state_dict(nets[0].video.state_dict())  # two legs of one model: the same video net
    paths = [save_checkpoint(tmp_path / f"{i}.pt", net, {"trained": True, "prototypes": {
        "violin": [value] * CONFIG.k, "trumpet": [0.5] * CONFIG.k}, "averaged": ["older.pt", "lite.pt"],
        "weights": [0.7, 0.3]}) for i, (net, value) in enumerate(zip(nets, (0.2, 0.8)))]
    mix = load_checkpoint(average.average(tmp_path / "mix.pt", paths, [3, 1], ["audio", "synth"]))
    # As logits: 0.75 logit(0.2) + 0.25 logit(0.8) = logit(1/3).
    assert mix.metadata["prototypes"] == {"violin": [0.33333] * CONFIG.k, "trumpet": [0.5] * CONFIG.k}
    even = load_checkpoint(average.average(tmp_path / "even.pt", paths, parts=["audio", "synth"]))
    assert even.metadata["averaged"] == [str(p) for p in paths] and "weights" not in even.metadata  # not the older soup's
