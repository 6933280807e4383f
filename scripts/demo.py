"""Demo: separate, remix and map a held-out duet with the ``pixelplayer`` command, and score the stems.

    .venv/bin/python scripts/demo.py [--out DIR]      (default: demo/)

The clip is the first duet of the model card's evaluation set (evaluation random stream, seed 0, as
``scripts/make_eval_scenes.py`` writes it): melodies, voices, room and layout the model never trained
or was tuned on. Its true stems and a click point on each instrument come with it, so the demo clicks
each instrument where it really is and measures each stem's SDR against the true source, beside the
SDR of the unseparated mixture (the scoring of ``scripts/evaluate.py``). Every command it runs is
printed as you can paste it in the directory you ran the demo from.
"""
from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import soundfile as sf

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import evaluate  # noqa: E402
from pixelplayer_blender.training import NoteBank  # noqa: E402
from pixelplayer_blender.training.scenes import compose_scene, write_scene  # noqa: E402

SEED = 0  # the first duet of the evaluation set; fixed up front, never chosen by its score
GAIN_DB = -12.0  # the remix turns the first instrument down by this much
MARGIN_DB = 6.0  # a stem "separates" when its SDR beats the mixture's by this much


def shown(path: Path) -> str:
    """``path`` as typed in the current directory: relative inside it, absolute outside."""
    path = Path(os.path.abspath(path))
    return os.path.relpath(path) if path.is_relative_to(Path.cwd()) else str(path)


def pixelplayer(*args: str) -> str:
    """Print the venv's ``pixelplayer`` command line, run it and echo its stdout; returns that stdout."""
    command = [shown(Path(sys.executable).with_name("pixelplayer")), *args]
    print("\n$", shlex.join(command), flush=True)
    done = subprocess.run(command, check=True, stdout=subprocess.PIPE, text=True)
    print(done.stdout, end="", flush=True)
    return done.stdout


def make_scene(out: Path) -> evaluate.Scene:
    """Write the held-out duet (video, true stems, sidecar) into ``out`` with make_eval_scenes.py's defaults."""
    bank = NoteBank(44100, persist=False)
    scene = compose_scene(SEED, 2, 640, 360, 24, 8.0, bank)
    return evaluate.Scene.load(write_scene(scene, out, f"duet_{SEED:04d}"))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("demo"), help="folder for every file the demo writes")
    out = parser.parse_args(argv).out
    start = time.monotonic()

    scene = make_scene(out / "scene")
    truth = scene.doc["sources"]
    video = shown(scene.video)
    points = [f"{s['click']['x']:g},{s['click']['y']:g}" for s in truth]
    at = f"{truth[0]['click']['time']:.3f}"
    print(f"wrote {video}: a held-out duet ({' and '.join(s['name'] for s in truth)}), 8 s, 640x360, stereo 44.1 kHz,")
    print(f"  with its true stems and a click point on each instrument in {shown(scene.folder)}/")

    pixelplayer("info", video)
    stems = out / "stems"
    separation = json.loads(pixelplayer("separate", video, *(a for p in points for a in ("--point", p)),
                                        "--time", at, "--out-dir", shown(stems), "--json"))
    remix = out / f"duet.{truth[0]['name']}{GAIN_DB:+g}dB.mp4"
    pixelplayer("remix", video, "--point", f"{points[0]}:{GAIN_DB:g}", "--time", at, "--out", shown(remix))
    soundmap = out / "soundmap.png"
    pixelplayer("heatmap", video, "--time", at, "--points", *points, "--out", shown(soundmap))

    estimates = np.stack([sf.read(s["path"], dtype="float32", always_2d=True)[0].T for s in separation["sources"]])
    scores = evaluate.score(scene, estimates)
    mixture = evaluate.score(scene, np.stack([scene.mixture] * len(truth)))

    print(f"\nWhat the demo wrote ({time.monotonic() - start:.0f} s):")
    print(f"  {video}  the input: a duet the model never saw")
    for i, (source, true, own, mix) in enumerate(zip(separation["sources"], truth, scores, mixture), 1):
        gain = own["sdr"] - mix["sdr"]
        print(f"  {shown(Path(source['path']))}  click {i} at {points[i - 1]} (on the {true['name']}), "
              f"named '{source['label']}' by the model")
        print(f"      SDR against the true {true['name']}: {own['sdr']:.1f} dB (the mixture: {mix['sdr']:.1f} dB), "
              f"{gain:+.1f} dB: {'separated' if gain >= MARGIN_DB else 'NOT separated'} "
              f"(bar: {MARGIN_DB:+g} dB over the mixture)")
    print(f"  {shown(Path(separation['residual']['path']))}  the rest: the original minus both stems "
          "(the stems and the rest add up to the original)")
    print(f"  {shown(remix)}  the video with the {truth[0]['name']} {GAIN_DB:+g} dB (picture copied untouched)")
    print(f"  {shown(soundmap)}  the frame at {at} s with its sound map: where the model hears sound coming from "
          "(heat only where it is confident, scale in the legend), the clicks ringed and numbered")
    print(f"  {shown(scene.folder)}/  the true stems the SDRs are measured against (*.sources*.wav)")


if __name__ == "__main__":
    main()
