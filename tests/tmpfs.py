"""A real, small tmpfs for the disk-full checks of the CLI and of Blender (root only; skips elsewhere)."""
from __future__ import annotations

import contextlib
import os
import subprocess
from pathlib import Path
from typing import Iterator

import pytest


@contextlib.contextmanager
def small_tmpfs(folder: Path, megabytes: int) -> Iterator[Path]:
    """Mount a ``megabytes`` MB tmpfs at ``folder/small-disk`` for the block's duration."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    mount = folder / "small-disk"
    mount.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={megabytes}m", "tmpfs", str(mount)]).returncode != 0:
        pytest.skip("cannot mount a tmpfs here")
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=True)
