"""The engine's Python API, in the spirit of Demucs's ``Separator``: analyse once, isolate per click."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from . import analysis as _analysis
from .analysis import Analysis, Progress
from .checkpoint import load_model
from .stem import Query, Separation, isolate


def default_cache_dir() -> Path:
    if "PIXELPLAYER_CACHE" in os.environ:
        return Path(os.environ["PIXELPLAYER_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "pixelplayer"


class Separator:
    """Loads a model once; analyses clips (cached on disk) and answers clicks with separated audio."""

    def __init__(self, checkpoint: str | Path | None = None, device: str = "cpu", threads: int | None = None,
                 cache_dir: str | Path | None = None) -> None:
        if threads:
            torch.set_num_threads(threads)
        self.model = load_model(checkpoint, device)
        self.cache_dir = Path(cache_dir) if cache_dir else default_cache_dir()

    @property
    def trained(self) -> bool:
        return self.model.trained

    @property
    def warning(self) -> str | None:
        """A line every output must carry while the model is untrained."""
        return None if self.trained else self.model.metadata.get("warning")

    def analyze(self, path: str | Path, progress: Progress | None = None,
                cancel: Callable[[], bool] | None = None) -> Analysis:
        return _analysis.analyze(self.model, path, self.cache_dir, progress, cancel)

    def isolate(self, analysis: Analysis, queries: list[Query]) -> Separation:
        return isolate(self.model, analysis, queries)

    def remix(self, analysis: Analysis, levels: list[tuple[Query, float]]) -> np.ndarray:
        """The original with each queried source at its level in dB (the rest unchanged)."""
        separation = self.isolate(analysis, [q for q, _ in levels])
        out = analysis.audio().copy()
        for stem, (_, db) in zip(separation.sources, levels):
            out += (10.0 ** (db / 20.0) - 1.0) * stem.audio
        return out
