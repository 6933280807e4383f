"""Ctrl-C and kills at several moments of a real ``pixelplayer`` process: a clean exit, and nothing left behind."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from pixelplayer_blender.core.files import TMP_PREFIX


def start(*args, cache) -> subprocess.Popen:
    env = {**os.environ, "PIXELPLAYER_CACHE": str(cache)}
    return subprocess.Popen([sys.executable, "-m", "pixelplayer_blender.cli", *map(str, args)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def separate(clip, out, cache, *options, checkpoint=None) -> subprocess.Popen:
    """``separate`` three queries (``checkpoint``: a model other than the bundled one)."""
    x, y = clip.point(0)
    model = ["--checkpoint", checkpoint] if checkpoint else []
    return start(*model, "separate", clip.path, "--point", f"{x},{y}", "--point", "10,10", "--region", "0,0,100,90",
                 "--out-dir", out, *options, cache=cache)


def wait_for_line(proc: subprocess.Popen, text: str) -> None:
    """Read stderr until a line holds ``text`` (the process is then at that step)."""
    for line in proc.stderr:
        if text in line:
            return
    pytest.fail(f"the process ended before printing {text!r}")


def wait_for_staging(proc: subprocess.Popen, out) -> None:
    """Poll until the outputs are being written (their hidden staging folder exists)."""
    while proc.poll() is None:
        if out.is_dir() and any(p.name.startswith(TMP_PREFIX) for p in out.iterdir()):
            return
        time.sleep(0.0005)
    pytest.fail("the process ended before writing its outputs")


def assert_cancelled(proc: subprocess.Popen) -> None:
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and err.strip().splitlines()[-1] == "pixelplayer: cancelled", err


def debris(cache) -> list[str]:
    return [p.name for p in cache.iterdir() if ".tmp" in p.name or ".old" in p.name] if cache.exists() else []


@pytest.fixture(scope="module")
def warm_cache(duet, tmp_path_factory, tiny_checkpoint):
    """A cache holding the duet's analysis by the tiny model, so a run with it reaches its writing at once."""
    cache = tmp_path_factory.mktemp("warm-cache")
    proc = separate(duet, tmp_path_factory.mktemp("warm-out"), cache, checkpoint=tiny_checkpoint)
    assert proc.wait(timeout=300) == 0, proc.stderr.read()
    return cache


@pytest.mark.parametrize("delay", [0.3, 1.0])
def test_ctrl_c_during_the_imports(duet, tmp_path, delay):
    proc = separate(duet, tmp_path / "out", tmp_path / "cache")
    time.sleep(delay)
    proc.send_signal(signal.SIGINT)
    assert_cancelled(proc)
    assert not (tmp_path / "out").exists() and debris(tmp_path / "cache") == []


def test_ctrl_c_during_the_analysis(duet, tmp_path):
    proc = separate(duet, tmp_path / "out", tmp_path / "cache")
    wait_for_line(proc, "audio network")
    proc.send_signal(signal.SIGINT)
    assert_cancelled(proc)
    assert not (tmp_path / "out").exists() and debris(tmp_path / "cache") == []


def test_ctrl_c_while_the_stems_are_written(duet, tmp_path, warm_cache, tiny_checkpoint):
    out = tmp_path / "deeper" / "out"
    proc = separate(duet, out, warm_cache, "--format", "flac", checkpoint=tiny_checkpoint)
    wait_for_staging(proc, out)
    proc.send_signal(signal.SIGINT)
    assert_cancelled(proc)
    assert not (tmp_path / "deeper").exists()  # the folders made for the outputs went with them


def test_killed_during_the_analysis_then_run_again(duet, tmp_path, tiny_checkpoint):
    cache = tmp_path / "cache"
    proc = separate(duet, tmp_path / "out", cache)
    wait_for_line(proc, "audio network")
    proc.kill()
    proc.communicate()
    left = debris(cache)
    assert len(left) == 1 and left[0].endswith(f".tmp{proc.pid}")  # a kill cannot clean up
    hour_ago = time.time() - 3700
    os.utime(cache / left[0], (hour_ago, hour_ago))
    again = separate(duet, tmp_path / "out", cache, checkpoint=tiny_checkpoint)  # any run sweeps: a quick one
    assert again.wait(timeout=300) == 0, again.stderr.read()
    assert debris(cache) == [] and len(list(cache.iterdir())) == 1


def test_killed_while_the_stems_are_written_then_run_again(duet, tmp_path, warm_cache, tiny_checkpoint):
    out = tmp_path / "out"
    proc = separate(duet, out, warm_cache, "--format", "flac", checkpoint=tiny_checkpoint)
    wait_for_staging(proc, out)
    proc.kill()
    proc.communicate()
    assert any(p.name.startswith(TMP_PREFIX) for p in out.iterdir())  # a kill cannot clean up
    again = separate(duet, out, warm_cache, "--format", "flac", checkpoint=tiny_checkpoint)
    assert again.wait(timeout=300) == 0, again.stderr.read()
    names = sorted(p.name for p in out.iterdir())
    assert len(names) == 4 and not any(n.startswith(".") for n in names), names
