"""Demo: generate a duet video, then separate, remix and map it with the ``pixelplayer`` command.

    .venv/bin/python scripts/demo.py [OUT_DIR]      (default: demo/)

Each step prints the command it runs, so you can repeat it on your own videos.
"""
from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path

import clipgen


def run(*args: str) -> None:
    command = [str(Path(sys.executable).with_name("pixelplayer")), *args]
    print("$", shlex.join(["pixelplayer", *args]), flush=True)
    subprocess.run(command, check=True)


def main() -> None:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "demo")
    out.mkdir(parents=True, exist_ok=True)
    clip = clipgen.write_clip(out / "duet.mp4", seconds=15.0, width=640, height=360, fps=25, sample_rate=44100)
    print(f"wrote {clip.path}: a red and a blue instrument, 15 s, 640x360, stereo 44.1 kHz")
    (x0, y0), (x1, y1) = clip.point(0), clip.point(1)
    run("info", str(clip.path))
    run("separate", str(clip.path), "--point", f"{x0},{y0}", "--point", f"{x1},{y1}", "--out-dir", str(out / "stems"))
    run("remix", str(clip.path), "--point", f"{x0},{y0}:-12", "--out", str(out / "duet-red-down-12dB.mp4"))
    run("heatmap", str(clip.path), "--time", "5", "--out", str(out / "soundmap.png"))
    print(f"done: see {out}/")


if __name__ == "__main__":
    main()
