"""The ``pixelplayer`` command on phone footage (a display matrix): sizes, clicks, heatmap and remix as displayed."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import av
from PIL import Image

from pixelplayer_blender.core import media


def run(*args, cache) -> subprocess.CompletedProcess:
    env = {**os.environ, "PIXELPLAYER_CACHE": str(cache)}
    return subprocess.run([sys.executable, "-m", "pixelplayer_blender.cli", *map(str, args)],
                          capture_output=True, text=True, env=env, timeout=300)


def test_rotated_clip_is_handled_as_displayed(make_clip, tmp_path):
    clip = make_clip("phone.mp4", seconds=4.0, width=320, height=180, rotation=90)  # stored 180x320
    cache = tmp_path / "cache"
    doc = json.loads(run("info", clip.path, "--json", cache=cache).stdout)
    assert (doc["video"]["width"], doc["video"]["height"], doc["video"]["rotation"]) == (320, 180, 90)
    x, y = clip.point(1, 1.0)
    proc = run("separate", clip.path, "--point", f"{x},{y}", "--time", "1", "--out-dir", tmp_path / "stems",
               "--json", cache=cache)
    assert proc.returncode == 0, proc.stderr
    assert len(json.loads(proc.stdout)["sources"]) == 1
    proc = run("separate", clip.path, "--point", "200,200", "--out-dir", tmp_path / "bad", cache=cache)
    assert proc.returncode == 1 and "outside the 320x180 frame" in proc.stderr
    proc = run("heatmap", clip.path, "--time", "1", "--out", tmp_path / "map.png", cache=cache)
    assert proc.returncode == 0, proc.stderr
    with Image.open(tmp_path / "map.png") as im:
        assert im.size == (320, 180)
    out = tmp_path / "remix.mp4"
    proc = run("remix", clip.path, "--point", f"{x},{y}:-20", "--time", "1", "--out", out, cache=cache)
    assert proc.returncode == 0, proc.stderr

    def video(path):
        with av.open(str(path)) as c:
            rotation = next(c.decode(video=0)).rotation
        with av.open(str(path)) as c:
            return [bytes(p) for p in c.demux(c.streams.video[0]) if p.size], rotation

    assert video(out) == video(clip.path) and video(out)[1] == 90  # packets and display matrix untouched
    assert media.probe(out).video == media.probe(clip.path).video
