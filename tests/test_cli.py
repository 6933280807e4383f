"""The ``pixelplayer`` command, run as a user runs it: a real process, real files."""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import soundfile
import torch
from PIL import Image

from pixelplayer_blender.core import media


def run(*args: str, cache) -> subprocess.CompletedProcess:
    env = {**os.environ, "PIXELPLAYER_CACHE": str(cache)}
    return subprocess.run([sys.executable, "-m", "pixelplayer_blender.cli", *map(str, args)],
                          capture_output=True, text=True, env=env, timeout=300)


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("cli-cache")


def test_separate_json(duet, tmp_path, cache, untrained_checkpoint):
    x, y = duet.point(1)
    proc = run("--checkpoint", untrained_checkpoint, "separate", duet.path, "--point", f"{x},{y}", "--region", "0,0,100,90", "--point", "10,10",
               "--time", "1.5", "--out-dir", tmp_path / "stems", "--format", "flac", "--json", cache=cache)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)  # exactly one JSON object and nothing else
    assert [s["query"] for s in doc["sources"]] == [
        {"point": [x, y], "time": 1.5}, {"region": [0, 0, 100, 90], "time": 1.5}, {"point": [10, 10], "time": 1.5}]
    assert doc["samplerate"] == duet.sample_rate and doc["trained"] is False and "UNTRAINED" in doc["warning"]
    assert "UNTRAINED" in proc.stderr
    original = media.decode_audio(duet.path)
    assert abs(doc["seconds"] - original.shape[1] / duet.sample_rate) < 1e-9
    total = np.zeros_like(original)
    for path in [s["path"] for s in doc["sources"]] + [doc["residual"]["path"]]:
        audio, rate = soundfile.read(path, always_2d=True, dtype="float32")
        assert rate == duet.sample_rate and audio.T.shape == original.shape
        total += audio.T
    assert 10 * np.log10(np.sum(original**2) / np.sum((original - total) ** 2)) > 40
    assert len(list((tmp_path / "stems").iterdir())) == 4


def test_separate_plain_output_lists_files(duet, tmp_path, cache):
    proc = run("separate", duet.path, "--point", "50,50", "--out-dir", tmp_path, cache=cache)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert len(lines) == 2 and lines[1].endswith("\trest")
    assert all(os.path.isfile(line.split("\t")[0]) for line in lines)


def test_remix_copies_the_picture_and_changes_the_sound(duet, tmp_path, cache):
    out = tmp_path / "remix.mp4"
    x, y = duet.point(0)
    proc = run("remix", duet.path, "--point", f"{x},{y}:-60", "--out", out, cache=cache)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == str(out)
    info = media.probe(out)
    assert (info.video.width, info.video.height) == (duet.width, duet.height)
    assert info.audio.sample_rate == duet.sample_rate and info.audio.channels == 2
    assert abs(info.duration - media.probe(duet.path).duration) < 0.1
    assert not np.allclose(media.decode_audio(out)[:, :10000], media.decode_audio(duet.path)[:, :10000], atol=1e-3)


def test_heatmap_and_info(duet, tmp_path, cache, untrained_checkpoint):
    png = tmp_path / "map.png"
    proc = run("heatmap", duet.path, "--time", "2", "--out", png, cache=cache)
    assert proc.returncode == 0, proc.stderr
    with Image.open(png) as im:
        assert im.size == (duet.width, duet.height)
    proc = run("info", duet.path, "--json", cache=cache)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["audio"]["sample_rate"] == duet.sample_rate and doc["video"]["width"] == duet.width
    assert doc["analysis"]["windows"] == 2 and doc["analysis"]["frames_decoded"] == 6
    text = run("--checkpoint", untrained_checkpoint, "info", duet.path, cache=cache).stdout
    assert "windows" in text and "UNTRAINED" in text


def _digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def bad_inputs(tmp_path_factory, make_clip, duet):
    d = tmp_path_factory.mktemp("bad")
    corrupt = d / "corrupt.mp4"
    corrupt.write_bytes(os.urandom(4096))
    truncated = d / "truncated.mp4"
    truncated.write_bytes(duet.path.read_bytes()[: duet.path.stat().st_size // 3])
    junk_ckpt = d / "junk.pt"
    junk_ckpt.write_bytes(b"not a checkpoint")
    other_ckpt = d / "other.pt"
    torch.save({"something": torch.zeros(2)}, other_ckpt)
    blocker = d / "a-file"
    blocker.write_text("I am a file, not a folder")
    noaudio = make_clip("cli-noaudio.mp4", audio=False).path
    novideo = make_clip("cli-novideo.mkv", video=False).path
    short = make_clip("cli-short.mp4", seconds=0.5).path
    src = duet.path
    return {
        "missing file": (["separate", d / "missing.mp4", "--point", "1,1"], "no such file"),
        "no audio": (["separate", noaudio, "--point", "1,1"], "no audio stream"),
        "no video": (["separate", novideo, "--point", "1,1"], "no video stream"),
        "corrupt": (["separate", corrupt, "--point", "1,1"], "cannot read"),
        "truncated": (["separate", truncated, "--point", "1,1"], "cannot read"),
        "too short": (["separate", short, "--point", "1,1"], "at least 1 s"),
        "point outside": (["separate", src, "--point", f"{duet.width + 5},10"], "outside"),
        "region outside": (["separate", src, "--region", f"0,0,10,{duet.height + 1}"], "outside"),
        "junk checkpoint": (["--checkpoint", junk_ckpt, "separate", src, "--point", "1,1"], "unreadable"),
        "incompatible checkpoint": (["--checkpoint", other_ckpt, "separate", src, "--point", "1,1"], "incompatible"),
        "unwritable folder": (["separate", src, "--point", "1,1", "--out-dir", blocker / "stems"], "cannot write"),
        "remix over source": (["remix", src, "--point", "1,1:-6", "--out", src], "overwrite the source"),
        "heatmap over source": (["heatmap", src, "--out", src], "overwrite the source"),
    }


@pytest.mark.parametrize("case", ["missing file", "no audio", "no video", "corrupt", "truncated", "too short",
                                  "point outside", "region outside", "junk checkpoint", "incompatible checkpoint",
                                  "unwritable folder", "remix over source", "heatmap over source"])
def test_bad_input_gets_one_clear_line_and_writes_nothing(bad_inputs, duet, tmp_path, cache, case):
    args, expected = bad_inputs[case]
    args = list(args)
    if args[0] == "separate" or args[2:3] == ["separate"]:
        if "--out-dir" not in args:
            args += ["--out-dir", tmp_path / "out"]
    before = _digest(duet.path)
    proc = run(*args, cache=cache)
    assert proc.returncode != 0
    assert proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert lines[0].startswith("pixelplayer: error:") and expected in lines[0]
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())
    assert _digest(duet.path) == before
