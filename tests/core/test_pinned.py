"""Refactors keep the engine's outputs bit for bit: a separation and a sound map, pinned by checksum.

The seeded untrained model on the common duet clip, one CPU thread (so reductions always run in
the same order), through the command a user runs.  The clip is written by a fresh process: x264's
output can depend on what the writing process did before.  A change that alters these numbers on purpose
(a new model rule, a new front-end) updates the pins in the same commit and says why.
"""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys

from pathlib import Path

import soundfile

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"

# sha256 of the float32 samples of each stem and of the rest, in output order; then of the heatmap PNG.
STEMS = [
    "a1ce39dd5857fbbc39f5783f3b0e094f9a1a62ea617685e51856f42186140591",
    "c84f2f4a4148313c6327299ba4135c2de0382b10a0676bc870e9b12fd3e9e4c9",
    "1014eee0522b0d27a69540e4756e0e7746d96a41e146b99a541b31ff7bced02e",
]
HEATMAP = "6dfe6965d9e26590284e01f641a8fe31e0d8aaf9d7b2607965cff771da9fab00"  # the legend and confident-only layer (issue 17)


DUET = "import clipgen, sys; clipgen.write_clip(sys.argv[1], seconds=8.0, width=320, height=180, fps=25)"


def _run(*args, cache) -> None:
    env = {**os.environ, "PIXELPLAYER_CACHE": str(cache)}
    proc = subprocess.run([sys.executable, "-m", "pixelplayer_blender.cli", "--threads", "1", *map(str, args)],
                          capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr


def test_a_separation_and_a_sound_map_are_unchanged(untrained_checkpoint, tmp_path):
    duet = tmp_path / "duet.mp4"
    subprocess.run([sys.executable, "-c", DUET, duet], check=True, cwd=SCRIPTS)
    out = tmp_path / "stems"
    _run("--checkpoint", untrained_checkpoint, "separate", duet, "--point", "241,90",
         "--region", "0,0,100,90", "--time", "1.5", "--out-dir", out, cache=tmp_path / "cache")
    files = sorted(out.iterdir(), key=lambda p: (p.name.split(".")[-2] == "rest", p.name))
    digests = [hashlib.sha256(soundfile.read(f, dtype="float32")[0].tobytes()).hexdigest() for f in files]
    _run("--checkpoint", untrained_checkpoint, "heatmap", duet, "--time", "2.0", "--out", tmp_path / "map.png",
         cache=tmp_path / "cache")
    heatmap = hashlib.sha256((tmp_path / "map.png").read_bytes()).hexdigest()
    assert (digests, heatmap) == (STEMS, HEATMAP)
