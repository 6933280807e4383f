"""Refactors keep the engine's outputs: a separation and a sound map, pinned.

The seeded untrained model on the common duet clip, one CPU thread (so reductions always run in
the same order), through the command a user runs.  The clip is written by a fresh process: x264's
output can depend on what the writing process did before.  The stems are pinned by their loudness over
eight stretches, to 0.1 %: bit for bit does not carry from one CPU to another (oneDNN picks other kernels
on an AMD EPYC than on an Intel CPU with AMX, and the last bits of a click's stem differ), while any change
of what the engine does moves them by far more.  The sound map, drawn in 8-bit colours, is pinned by its
PNG's checksum.  A change that alters these numbers on purpose (a new model rule, a new front-end) updates
the pins in the same commit and says why.
"""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import soundfile

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"

# Each stem's and then the rest's RMS over eight equal stretches of its mono downmix, in output order.
STEMS = [
    [0.0158132, 0.0197959, 0.0186645, 0.020441, 0.0167334, 0.0169287, 0.0148978, 0.0148524],
    [0, 0, 0, 0, 0, 0, 0, 0],  # the region: the untrained model hears nothing there, so it fades to silence
    [0.0718858, 0.0913606, 0.0821674, 0.0954952, 0.0829896, 0.0858118, 0.0868099, 0.0627836],
]
HEATMAP = "bc7a0dc2808a5b5ac98cb1d63808f633f74e81c2b6ba80772561c0b7ca32fdf2"  # the legend and confident-only layer (issue 17)


DUET = "import clipgen, sys; clipgen.write_clip(sys.argv[1], seconds=8.0, width=320, height=180, fps=25)"


def fingerprint(path: Path) -> list[float]:
    """A stem's RMS over eight equal stretches of its mono downmix."""
    mono = soundfile.read(path, dtype="float32")[0].mean(1, dtype=np.float64)
    return [float(np.sqrt(np.mean(np.square(part)))) for part in np.array_split(mono, 8)]


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
    loudness = [fingerprint(f) for f in files]
    _run("--checkpoint", untrained_checkpoint, "heatmap", duet, "--time", "2.0", "--out", tmp_path / "map.png",
         cache=tmp_path / "cache")
    heatmap = hashlib.sha256((tmp_path / "map.png").read_bytes()).hexdigest()
    np.testing.assert_allclose(loudness, STEMS, rtol=1e-3, atol=1e-7)
    assert heatmap == HEATMAP
