"""Which of the core's third-party modules are importable, and how to get the missing ones.

Pure Python: the preferences and the panel show :func:`missing`'s advice; operators call
:func:`require` before touching the core so a missing module becomes one readable report.
"""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

# Module -> how a user gets it inside Blender.
ADVICE = {
    "torch": "PyTorch is not installed: use Preferences > Add-ons > PixelPlayer > Install PyTorch, "
             "or point 'PyTorch site-packages' at a Python environment that has it",
    "av": "PyAV is missing: install the PixelPlayer zip built for this platform",
    "soundfile": "soundfile is missing: install the PixelPlayer zip built for this platform",
}


def available(module: str) -> bool:
    """Whether ``module`` can be found on ``sys.path`` (without importing it)."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # ValueError: a module blocked with sys.modules[name] = None
        return False


def missing() -> list[str]:
    """The core's modules that cannot be found, in ADVICE's order."""
    return [module for module in ADVICE if not available(module)]


class MissingDependency(RuntimeError):
    """The core cannot run here; the message says how to fix it."""


def require() -> None:
    """Raise :class:`MissingDependency` naming every missing module and its remedy."""
    gone = missing()
    if gone:
        raise MissingDependency("; ".join(ADVICE[module] for module in gone))


def add_site_packages(path: str | Path) -> bool:
    """Append an extra site-packages folder to ``sys.path`` (after Blender's own, so its numpy wins)."""
    folder = str(Path(path).expanduser())
    if not Path(folder).is_dir():
        return False
    if folder not in sys.path:
        sys.path.append(folder)
        importlib.invalidate_caches()
    return True
