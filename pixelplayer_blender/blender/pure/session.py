"""What this Blender session knows: the loaded separator and the analyses made with it.

Analyses live in memory keyed by the media's absolute path; the core's disk cache makes
re-analysing a known file (after reopening a .blend, say) instant.  Nothing here touches
``bpy``, so :func:`analyze` can run in a worker thread.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from . import deps

if TYPE_CHECKING:
    from ...core.analysis import Analysis
    from ...core.separator import Separator


# What background jobs are called, in reports and in ``Session.jobs``.
ANALYSIS = "Analysis"
TORCH_INSTALL = "PyTorch installation"
ISOLATION = "Isolation"


@dataclass(frozen=True)
class Settings:
    """What the core needs from the preferences, read on the main thread."""

    checkpoint: Path | None
    device: str
    threads: int | None
    cache_dir: Path


@dataclass
class Session:
    settings: Settings | None = None
    separator: Any = None  # core Separator for ``settings``
    analyses: dict[str, Any] = field(default_factory=dict)  # absolute media path -> core Analysis
    jobs: dict[str, Any] = field(default_factory=dict)  # what runs in the background: action -> Job


current = Session()


def separator(settings: Settings) -> Separator:
    """The separator for ``settings``, loading the model when they changed (analyses then go stale)."""
    deps.require()
    from ...core.separator import Separator

    if current.separator is None or current.settings != settings:
        current.analyses.clear()
        current.separator = Separator(checkpoint=settings.checkpoint, device=settings.device,
                                      threads=settings.threads, cache_dir=settings.cache_dir)
        current.settings = settings
    return current.separator


def analyze(settings: Settings, path: str, progress: Callable[[float, str], None],
            cancelled: Callable[[], bool]) -> Analysis:
    """Analyse ``path`` with the separator for ``settings`` (safe to call from a worker thread)."""
    return separator(settings).analyze(path, progress=progress, cancel=cancelled)

