"""Run the in-Blender checks (tests/blender/in_blender/check_*.py) inside the bpy venvs.

The main venv has no ``bpy``; scripts/setup_blender_envs.sh creates .venv-bpy45 (Blender 4.5 LTS)
and .venv-bpy50 (Blender 5.0), and these tests run it on first use when a venv is missing and the
machine has the Python (3.11) to build it.  Each run installs the zip that scripts/build_extension.py
builds into a temporary folder (the wheels it bundles are downloaded once into the user's cache),
with a throwaway Blender user folder and cache.
"""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CHECKS = Path(__file__).resolve().parent / "in_blender"
TAGS = ("45", "50")
TIMEOUT = 900
SETUP_TIMEOUT = 3600
WHEEL_CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "pixelplayer" / "wheels"


def bpy_python(tag: str) -> Path:
    return REPO / f".venv-bpy{tag}" / "bin" / "python"


@pytest.fixture(scope="session")
def bpy_venvs() -> None:
    """Build the missing bpy venvs with scripts/setup_blender_envs.sh (minutes, about 4 GB) when Python can."""
    missing = [tag for tag in TAGS if not bpy_python(tag).exists()]
    if not missing:
        return
    interpreter = os.environ.get("PYTHON", "python3.11")
    if shutil.which(interpreter) is None:
        pytest.skip(f"no bpy venv ({', '.join(f'.venv-bpy{t}' for t in missing)}) and no {interpreter} "
                    "to build one: run scripts/setup_blender_envs.sh")
    print(f"building {', '.join(f'.venv-bpy{t}' for t in missing)} with scripts/setup_blender_envs.sh (first use)")
    done = subprocess.run(["bash", str(REPO / "scripts" / "setup_blender_envs.sh"), *missing], cwd=REPO,
                          capture_output=True, text=True, timeout=SETUP_TIMEOUT)
    assert done.returncode == 0, "scripts/setup_blender_envs.sh failed:\n" + done.stdout + done.stderr


@pytest.fixture(scope="session")
def extension_zip(bpy_venvs, tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("extension")
    command = [sys.executable, str(REPO / "scripts" / "build_extension.py"), "--platform", "linux-x64",
               "--work", str(work / "build"), "--wheels", str(WHEEL_CACHE), "--out", str(work / "dist")]
    out = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=TIMEOUT)
    assert out.returncode == 0, out.stdout + out.stderr
    return Path(out.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("tag", TAGS)
def test_extension_inside_blender(tag, extension_zip, tmp_path):
    python = bpy_python(tag)
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
