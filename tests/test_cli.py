"""The ``pixelplayer`` command, run as a user runs it: a real process, real files."""
from __future__ import annotations

import hashlib
import json
import os
import random
import signal
import subprocess
import sys

import numpy as np
import pytest
import soundfile
import torch
from PIL import Image

ROOT = __import__("pathlib").Path(__file__).resolve().parent.parent

from pixelplayer_blender import cli
from pixelplayer_blender.core import media
from tests.tmpfs import small_tmpfs


def run(*args: str, cache) -> subprocess.CompletedProcess:
    env = {**os.environ, "PIXELPLAYER_CACHE": str(cache)}
    return subprocess.run([sys.executable, "-m", "pixelplayer_blender.cli", *map(str, args)],
                          capture_output=True, text=True, env=env, timeout=300)


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("cli-cache")


def strict_json(text: str):
    """Parse JSON as the standard defines it: NaN and Infinity are not JSON."""
    def refuse(constant):
        raise ValueError(f"{constant} is not JSON")
    return json.loads(text, parse_constant=refuse)


def test_separate_json(duet, tmp_path, cache, untrained_checkpoint):
    x, y = duet.point(1)
    proc = run("--checkpoint", untrained_checkpoint, "separate", duet.path, "--point", f"{x},{y}", "--region", "0,0,100,90", "--point", "10,10",
               "--time", "1.5", "--out-dir", tmp_path / "stems", "--format", "flac", "--json", cache=cache)
    assert proc.returncode == 0, proc.stderr
    doc = strict_json(proc.stdout)  # exactly one JSON object and nothing else
    assert [s["query"] for s in doc["sources"]] == [
        {"point": [x, y], "time": 1.5}, {"region": [0, 0, 100, 90], "time": 1.5}, {"point": [10, 10], "time": 1.5}]
    assert doc["samplerate"] == duet.sample_rate and doc["trained"] is False and "UNTRAINED" in doc["warning"]
    assert "UNTRAINED" in proc.stderr
    original = media.decode_audio(duet.path)
    assert doc["seconds"] == round(original.shape[1] / duet.sample_rate, 3)  # rounded to the millisecond
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
    doc = strict_json(proc.stdout)
    assert doc["audio"]["sample_rate"] == duet.sample_rate and doc["video"]["width"] == duet.width
    assert doc["analysis"]["windows"] == 2 and doc["analysis"]["frames_decoded"] == 6
    text = run("--checkpoint", untrained_checkpoint, "info", duet.path, cache=cache).stdout
    assert "windows" in text and "UNTRAINED" in text


def test_info_is_the_same_on_every_call(duet, cache):
    runs = [run("info", duet.path, "--json", cache=cache).stdout for _ in range(2)]
    assert runs[0] == runs[1]
    assert json.loads(runs[0])["duration"] == round(json.loads(runs[0])["duration"], 3)


def test_version_and_help_for_every_option():
    import tomllib

    import pixelplayer_blender
    root = pixelplayer_blender.__file__.rsplit("/", 2)[0]
    manifest = tomllib.loads(open(f"{root}/blender_manifest.toml").read())["version"]
    project = tomllib.loads(open(f"{root}/pyproject.toml").read())["project"]["version"]
    assert pixelplayer_blender.__version__ == manifest == project
    assert run("--version", cache=".").stdout.strip() == f"pixelplayer {manifest}"
    from pixelplayer_blender.cli import _parser
    parsers = [_parser()] + list(_parser()._subparsers._group_actions[0].choices.values())
    for parser in parsers:
        for action in parser._actions:
            assert action.help, f"{parser.prog} {action.option_strings or action.dest} has no help"
    for command in ("separate", "remix", "heatmap", "info"):
        assert f"pixelplayer {command} " in run(command, "--help", cache=".").stdout  # an example each


@pytest.fixture(scope="module")
def named_checkpoint(tmp_path_factory):
    """The seeded untrained model with two named instruments (prototype features), as a trained model keeps them."""
    from pixelplayer_blender.core.checkpoint import save_checkpoint, untrained_model

    model = untrained_model()
    k = model.net.config.k
    prototypes = {"violin": [1.0] * (k // 2) + [0.0] * (k - k // 2), "Double Bass": [0.0] * (k // 2) + [1.0] * (k - k // 2)}
    return save_checkpoint(tmp_path_factory.mktemp("named") / "named.pt", model.net,
                           {**model.metadata, "prototypes": prototypes})


def test_a_named_click_follows_the_name(duet, tmp_path, cache, named_checkpoint):
    x, y = duet.point(0)
    docs = {}
    for name in ("", "=violin", "=double bass"):
        proc = run("--checkpoint", named_checkpoint, "separate", duet.path, "--point", f"{x},{y}{name}", "--json",
                   "--out-dir", tmp_path / (name or "plain"), cache=cache)
        assert proc.returncode == 0, proc.stderr
        docs[name] = json.loads(proc.stdout)["sources"][0]
    assert docs["=violin"]["label"] == "violin" and docs["=violin"]["query"]["name"] == "violin"
    audio = {n: soundfile.read(d["path"], dtype="float32")[0] for n, d in docs.items()}
    assert not np.allclose(audio[""], audio["=violin"]) and not np.allclose(audio["=violin"], audio["=double bass"])


def test_an_unknown_name_is_refused_before_any_work(duet, tmp_path, named_checkpoint):
    proc = run("--checkpoint", named_checkpoint, "separate", duet.path, "--point", "10,10=theremin",
               "--out-dir", tmp_path / "out", cache=tmp_path / "cache")
    assert proc.returncode == 1 and "no instrument called 'theremin'" in proc.stderr
    assert "double bass, violin" in proc.stderr and not (tmp_path / "cache").exists()


def test_heatmap_marks_the_given_points(duet, tmp_path, cache):
    plain, marked = tmp_path / "plain.png", tmp_path / "marked.png"
    x, y = duet.point(0)
    assert run("heatmap", duet.path, "--out", plain, cache=cache).returncode == 0
    assert run("heatmap", duet.path, "--points", f"{x},{y}", "--out", marked, cache=cache).returncode == 0
    with Image.open(plain) as a, Image.open(marked) as b:
        difference = np.abs(np.asarray(a, np.int16) - np.asarray(b, np.int16)).sum(-1) > 0
    rows, cols = np.nonzero(difference)
    assert difference.any() and abs(rows.mean() - y) < 20 and cols.min() > x - 30


def _digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def bad_inputs(tmp_path_factory, make_clip, duet):
    d = tmp_path_factory.mktemp("bad")
    corrupt = d / "corrupt.mp4"
    corrupt.write_bytes(random.Random(0).randbytes(4096))  # fixed: about 1 in 400 random files probes as lyrics (LRC)
    truncated = d / "truncated.mp4"
    truncated.write_bytes(duet.path.read_bytes()[: duet.path.stat().st_size // 3])
    junk_ckpt = d / "junk.pt"
    junk_ckpt.write_bytes(b"not a checkpoint")
    truncated_ckpt = d / "truncated.pt"
    whole = (ROOT / "models" / "pixelplayer.pt").read_bytes()
    truncated_ckpt.write_bytes(whole[: len(whole) // 2])
    odd_ckpt = d / "odd.pt"
    torch.save({**torch.load(ROOT / "models" / "pixelplayer.pt", weights_only=True), "metadata": ["trained"]}, odd_ckpt)
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
        "truncated checkpoint": (["--checkpoint", truncated_ckpt, "separate", src, "--point", "1,1"],
                                 f"checkpoint {truncated_ckpt} is unreadable: truncated"),
        "metadata of the wrong type": (["--checkpoint", odd_ckpt, "separate", src, "--point", "1,1"],
                                       f"checkpoint {odd_ckpt} is incompatible: its 'metadata' is a list"),
        "unwritable folder": (["separate", src, "--point", "1,1", "--out-dir", blocker / "stems"], "cannot write"),
        "remix over source": (["remix", src, "--point", "1,1:-6", "--out", src], "overwrite the source"),
        "heatmap over source": (["heatmap", src, "--out", src], "overwrite the source"),
    }


@pytest.mark.parametrize("case", ["missing file", "no audio", "no video", "corrupt", "truncated", "too short",
                                  "point outside", "region outside", "junk checkpoint", "incompatible checkpoint",
                                  "truncated checkpoint", "metadata of the wrong type",
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
    assert not (tmp_path / "out").exists()  # not even created
    assert _digest(duet.path) == before


def in_process(*args, capsys) -> tuple[int, str, str]:
    """``pixelplayer ARGS`` run by this process (torch is already loaded): (exit status, stdout, stderr)."""
    handler = signal.getsignal(signal.SIGINT)
    try:
        try:
            code = cli.main([str(a) for a in args])
        except SystemExit as exit_:  # argument errors
            code = exit_.code
    finally:
        signal.signal(signal.SIGINT, handler)
    out, err = capsys.readouterr()
    return code, out, err


STRICT = {
    "time past the end": (["separate", "{clip}", "--point", "1,1", "--time", "100"], "--time 100 is not a moment"),
    "negative time": (["separate", "{clip}", "--point", "1,1", "--time", "-1"], "--time -1 is not a moment"),
    "time nan": (["separate", "{clip}", "--point", "1,1", "--time", "nan"], "--time nan is not a moment"),
    "remix time inf": (["remix", "{clip}", "--point", "1,1:-6", "--time", "inf", "--out", "{out}/r.mp4"],
                       "--time inf is not a moment"),
    "heatmap time past the end": (["heatmap", "{clip}", "--time", "9", "--out", "{out}/m.png"], "--time 9 is not"),
    "point nan": (["separate", "{clip}", "--point", "nan,1"], "a point must be 2 comma-separated numbers"),
    "gain nan": (["remix", "{clip}", "--point", "1,1:nan", "--out", "{out}/r.mp4"], "gain must be a number of dB"),
    "gain inf": (["remix", "{clip}", "--point", "1,1:inf", "--out", "{out}/r.mp4"], "from -60 to +60, got 'inf'"),
    "gain 1e9": (["remix", "{clip}", "--point", "1,1:1e9", "--out", "{out}/r.mp4"], "from -60 to +60, got '1e9'"),
    "gain -61": (["remix", "{clip}", "--region", "0,0,5,5:-61", "--out", "{out}/r.mp4"], "got '-61'"),
    "threads 0": (["--threads", "0", "separate", "{clip}", "--point", "1,1"], "at least 1, got '0'"),
    "threads -1": (["--threads", "-1", "separate", "{clip}", "--point", "1,1"], "at least 1, got '-1'"),
}


@pytest.mark.parametrize("case", STRICT)
def test_strict_arguments(duet, tmp_path, cache, capsys, case):
    args, expected = STRICT[case]
    out = tmp_path / "out"
    args = [a.format(clip=duet.path, out=out) for a in args]
    if "separate" in args:
        args += ["--out-dir", out]
    code, stdout, stderr = in_process("--cache-dir", cache, *args, capsys=capsys)
    assert code not in (0, None) and stdout == ""
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("pixelplayer: error:") and expected in lines[0], stderr
    if "time" in case:
        assert f"it lasts {media.probe(duet.path).duration:.2f} s" in lines[0]
    assert not out.exists()


@pytest.fixture
def small_disk(tmp_path):
    """A real 4 MB tmpfs: room for one of the duet's 2.8 MB stems, not two (root only)."""
    with small_tmpfs(tmp_path, 4) as mount:
        yield mount


@pytest.mark.parametrize("command", ["separate", "remix"])
def test_a_full_disk_is_one_line_naming_the_folder_and_leaves_nothing(duet, small_disk, cache, command):
    out = small_disk / "out"
    x, y = duet.point(0)
    if command == "separate":
        args = ["separate", duet.path, "--point", f"{x},{y}", "--point", "10,10", "--out-dir", out]
    else:
        (small_disk / "filler").write_bytes(bytes((4 << 20) - (16 << 10)))  # room for 16 KiB of the remix
        args = ["remix", duet.path, "--point", f"{x},{y}:-6", "--out", out / "remix.mp4"]
    proc = run(*args, cache=cache)
    assert proc.returncode == 1 and proc.stdout == ""
    messages = [line for line in proc.stderr.splitlines()
                if not line.startswith(("analysing: ", "isolating: "))]  # not progress
    assert messages == [f"pixelplayer: error: cannot write to {out}: No space left on device"], proc.stderr
    assert [p.name for p in small_disk.iterdir() if p.name != "filler"] == []


def test_a_full_disk_under_the_cache_is_one_line_and_leaves_nothing(duet, small_disk, cache, tiny_checkpoint, tmp_path):
    (small_disk / "filler").write_bytes(bytes(3 << 20))  # the tiny model's analysis of the duet needs 2 MB
    x, y = duet.point(0)
    proc = run("--checkpoint", tiny_checkpoint, "--cache-dir", small_disk / "cache", "separate", duet.path,
               "--point", f"{x},{y}", "--out-dir", tmp_path / "out", cache=cache)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert proc.stderr.splitlines()[-1] == (f"pixelplayer: error: cannot write the analysis cache in "
                                            f"{small_disk / 'cache'}: No space left on device")
    assert list((small_disk / "cache").iterdir()) == [] and not (tmp_path / "out").exists()
