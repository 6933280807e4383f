"""scripts/demo.py end to end: it separates the held-out duet, and every command it prints runs when pasted."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_demo_separates_and_its_commands_run_when_pasted(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    done = subprocess.run([sys.executable, "scripts/demo.py", "--out", str(out)], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()

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
