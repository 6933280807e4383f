"""scripts/demo.py end to end: it separates the held-out duet, and every command it prints runs when pasted;
on its scene, a named click with the bundled model follows the name, wherever it is."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from scripts import evaluate

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> tuple[Path, list[str]]:
    out = tmp_path_factory.mktemp("demo") / "demo"
    done = subprocess.run([sys.executable, "scripts/demo.py", "--out", str(out)], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    return out, done.stdout.splitlines()


def test_demo_separates_and_its_commands_run_when_pasted(demo) -> None:
    out, lines = demo
    verdicts = [line for line in lines if "SDR against the true" in line]
    assert len(verdicts) == 2 and all(line.endswith("separated (bar: +6 dB over the mixture)") for line in verdicts)
    assert not any("NOT separated" in line for line in verdicts), "\n".join(verdicts)

    commands = [line[2:] for line in lines if line.startswith("$ ")]
    assert [c.split()[1] for c in commands] == ["info", "separate", "remix", "heatmap"]
    written = {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file() and "scene" not in p.parts}
    assert len(written) == 5  # two stems, the rest, the remix, the map
    for command in commands:
        pasted = subprocess.run(["bash", "-c", command], cwd=ROOT, capture_output=True, text=True, timeout=300)
        assert pasted.returncode == 0, f"$ {command}\n{pasted.stdout}{pasted.stderr}"
    rewritten = {p: p.stat().st_mtime_ns for p in written}
    assert all(rewritten[p] > written[p] for p in written), "the pasted commands did not write the demo's files again"


def mono(path: Path) -> np.ndarray:
    audio = sf.read(path)[0]
    return audio.mean(1) if audio.ndim > 1 else audio


@pytest.mark.parametrize("name", ["horn", "banjo"])
def test_a_named_click_follows_the_name_not_the_pixel(demo, tmp_path, name) -> None:
    """Clicked on the banjo but named, the stem is the named instrument's sound (the bundled model's prototypes)."""
    scene = demo[0] / "scene"
    done = subprocess.run([sys.executable, "-m", "pixelplayer_blender.cli", "separate", str(scene / "duet_0000.mp4"),
                           "--point", f"218,299={name}", "--time", "4", "--out-dir", str(tmp_path)],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    stem = mono(tmp_path / f"duet_0000.1.{name}.wav")
    truth = {t: mono(next(scene.glob(f"duet_0000.sources*.{t}.wav"))) for t in ("banjo", "horn")}
    n = min(len(stem), *(len(t) for t in truth.values()))
    other = "banjo" if name == "horn" else "horn"
    assert evaluate.si_sdr(truth[name][:n], stem[:n]) > 5 and evaluate.si_sdr(truth[other][:n], stem[:n]) < -5
