"""All-or-nothing writes, and the temporaries of killed processes cleaned by the next writer."""
from __future__ import annotations

import subprocess
import sys

import pytest

from pixelplayer_blender.core import files
from pixelplayer_blender.core.errors import PixelPlayerError


def test_all_files_arrive_together_and_the_folder_is_made_for_them(tmp_path):
    out = tmp_path / "a" / "b"
    targets = [out / "one.wav", out / "two.wav"]
    with files.atomic_paths(targets) as staged:
        assert not any(t.exists() for t in targets)
        for path, text in zip(staged, ("1", "2")):
            path.write_text(text)
    assert [t.read_text() for t in targets] == ["1", "2"]
    assert sorted(p.name for p in out.iterdir()) == ["one.wav", "two.wav"]


def test_a_failure_midway_leaves_nothing_and_keeps_what_was_there(tmp_path):
    (tmp_path / "old.wav").write_text("before")
    (tmp_path / "two.wav").write_text("earlier run")
    with pytest.raises(KeyboardInterrupt):
        with files.atomic_paths([tmp_path / "new" / "one.wav", tmp_path / "new" / "two.wav"]) as staged:
            staged[0].write_text("1")
            raise KeyboardInterrupt
    with pytest.raises(ZeroDivisionError):
        with files.atomic_paths([tmp_path / "one.wav", tmp_path / "two.wav"]) as staged:
            staged[0].write_text("1")
            1 / 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old.wav", "two.wav"]
    assert (tmp_path / "two.wav").read_text() == "earlier run"


def test_a_failed_move_takes_back_the_files_moved_before_it(tmp_path):
    (tmp_path / "b.wav").mkdir()  # a folder where the second file should go
    with pytest.raises(PixelPlayerError, match=f"cannot write to {tmp_path}: Is a directory"):
        with files.atomic_paths([tmp_path / "a.wav", tmp_path / "b.wav"]) as staged:
            for path in staged:
                path.write_text("x")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b.wav"]


def test_temporaries_of_gone_processes_are_swept_by_the_next_writer(tmp_path):
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    living = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        host = files._host()
        names = {f"{files.TMP_PREFIX}{host}-{gone.pid}.ab12": False, f"{files.TMP_PREFIX}{host}-{living.pid}.cd34": True,
                 f"{files.TMP_PREFIX}otherhost-{gone.pid}.ef56": True}
        for name in names:
            (tmp_path / name).mkdir()
            (tmp_path / name / ".song.rest.wav").write_bytes(bytes(1000))
        with files.atomic_path(tmp_path / "song.wav") as tmp:
            tmp.write_text("x")
        assert {n: (tmp_path / n).exists() for n in names} == names
    finally:
        living.kill()
        living.wait()
