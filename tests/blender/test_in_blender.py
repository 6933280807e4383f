"""Run the in-Blender checks (tests/blender/in_blender/check_*.py) inside the bpy venvs.

The main venv has no ``bpy``; scripts/setup_blender_envs.sh creates .venv-bpy45 (Blender 4.5 LTS)
and .venv-bpy50 (Blender 5.0).  Each run installs the zip that scripts/build_extension.py builds,
with a throwaway Blender user folder and cache.
"""
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CHECKS = Path(__file__).resolve().parent / "in_blender"
TIMEOUT = 900


@pytest.fixture(scope="session")
def extension_zip() -> Path:
    if not any((REPO / f".venv-bpy{tag}" / "bin" / "python").exists() for tag in ("45", "50")):
        pytest.skip("no bpy venv: run scripts/setup_blender_envs.sh")
    out = subprocess.run([sys.executable, str(REPO / "scripts" / "build_extension.py"), "--platform", "linux-x64"],
                         cwd=REPO, capture_output=True, text=True, timeout=TIMEOUT)
    assert out.returncode == 0, out.stdout + out.stderr
    return Path(out.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("tag", ["45", "50"])
def test_extension_inside_blender(tag, extension_zip, tmp_path):
    python = REPO / f".venv-bpy{tag}" / "bin" / "python"
    if not python.exists():
        pytest.skip(f"{python.parent.parent.name} is missing: run scripts/setup_blender_envs.sh")
    env = {**os.environ, "PIXELPLAYER_ZIP": str(extension_zip),
           "BLENDER_USER_RESOURCES": str(tmp_path / "blender"), "XDG_CACHE_HOME": str(tmp_path / "cache")}
    env.pop("PIXELPLAYER_CACHE", None)
    out = subprocess.run(
        [str(python), "-m", "pytest", str(CHECKS), "-o", "python_files=check_*.py", "-p", "no:cacheprovider",
         "-q", "--basetemp", str(tmp_path / "pytest")],
        cwd=REPO, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=TIMEOUT)
    report = "\n".join(line for line in (out.stdout + out.stderr).splitlines() if not line.startswith("Freeing memory"))
    print(report)
    assert out.returncode == 0, report
