"""Install PyTorch with pip into the extension's own user folder.

Pure Python (no ``bpy``), so the work can run in a :class:`.jobs.Job`: :func:`command` builds the pip
call, :func:`run` runs it with every file it writes (packages, temporary files, the log) inside the
given folder and reports pip's progress.
"""
from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

REQUIREMENT = "torch>=2.4,<2.15"  # as in pyproject.toml
CPU_INDEX = "https://download.pytorch.org/whl/cpu"
CUDA_INDEX = "https://download.pytorch.org/whl/cu128"
LOG = "install-pytorch.log"
# pip's output line prefixes -> how far along the installation is.
STAGES = (("Collecting", 0.05), ("Downloading", 0.1), ("Installing collected packages", 0.8),
          ("Successfully installed", 1.0))
POLL_SECONDS = 0.2


class InstallError(RuntimeError):
    """pip failed or was cancelled; the message names the log."""


def builds(platform: str = sys.platform) -> list[str]:
    """The PyTorch builds this platform can install (CUDA needs Linux or Windows)."""
    return ["CPU"] if platform == "darwin" else ["CPU", "CUDA"]


def index_url(build: str, platform: str = sys.platform) -> str | None:
    """Where pip finds ``build`` ("CPU" or "CUDA"); None is PyPI, whose Linux wheels are CUDA builds,
    whose Windows wheels are CPU builds and whose macOS wheels are the only macOS builds."""
    if platform == "darwin":
        return None
    if build == "CUDA":
        return None if platform.startswith("linux") else CUDA_INDEX
    return CPU_INDEX if platform.startswith("linux") else None


def command(target: Path, requirement: str = REQUIREMENT, index: str | None = None,
            python: str = sys.executable) -> list[str]:
    """The pip call installing ``requirement`` (and its dependencies) into ``target`` only."""
    call = [python, "-m", "pip", "install", "--target", str(target), "--upgrade", "--only-binary", ":all:",
            "--no-cache-dir", "--no-input", "--disable-pip-version-check", "--progress-bar", "off"]
    if index:
        call += ["--index-url", index]
    return call + [requirement]


def environment(temporary: Path) -> dict[str, str]:
    """pip's environment: temporary files in ``temporary``, no user site-packages."""
    return {**os.environ, "TMPDIR": str(temporary), "TEMP": str(temporary), "TMP": str(temporary),
            "PYTHONNOUSERSITE": "1", "PIP_NO_CACHE_DIR": "1", "PIP_NO_INPUT": "1"}


def run(call: list[str], folder: Path, progress: Callable[[float, str], None], cancelled: Callable[[], bool]) -> Path:
    """Run pip ``call`` logging to ``folder``/LOG (temporary files under ``folder``); returns the log's path."""
    log_path, temporary = folder / LOG, folder / "tmp"
    temporary.mkdir(parents=True, exist_ok=True)
    fraction = 0.0
    try:
        with open(log_path, "w", encoding="utf-8") as log, open(log_path, encoding="utf-8") as reader:
            log.write(f"$ {shlex.join(call)}\n")
            log.flush()
            reader.seek(0, 2)  # progress comes from pip's lines only
            process = subprocess.Popen(call, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                       env=environment(temporary))
            while True:
                ended = process.poll() is not None
                for line in reader:
                    fraction = max([fraction] + [f for prefix, f in STAGES if line.startswith(prefix)])
                    if line.strip():
                        progress(fraction, line.strip()[:120])
                if ended:
                    break
                if cancelled():
                    process.terminate()
                    process.wait()
                    raise InstallError(f"Installation cancelled; pip's log: {log_path}")
                time.sleep(POLL_SECONDS)
    finally:
        shutil.rmtree(temporary, ignore_errors=True)
    if process.returncode != 0:
        raise InstallError(f"pip failed (exit code {process.returncode}); see its log: {log_path}")
    return log_path
