"""The engine's Python API, in the spirit of Demucs's ``Separator``: analyse once, isolate per click."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

from . import analysis as _analysis
from .analysis import Analysis
from .checkpoint import load_model
from .clip import ClipAudio
from .isolate import Separation, isolate
from .progress import Cancel, Progress
from .query import Query


def default_cache_dir() -> Path:
    if "PIXELPLAYER_CACHE" in os.environ:
        return Path(os.environ["PIXELPLAYER_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "pixelplayer"


class Separator:
    """Loads a model once; analyses clips (cached on disk) and answers clicks with separated audio.

    It keeps each analysed clip's sound (:class:`.clip.ClipAudio`) for the clicks that follow.
    """

    def __init__(self, checkpoint: str | Path | None = None, device: str = "cpu", threads: int | None = None,
                 cache_dir: str | Path | None = None) -> None:
        if threads:
            torch.set_num_threads(threads)
        self.model = load_model(checkpoint, device)
        self.cache_dir = Path(cache_dir) if cache_dir else default_cache_dir()
        self._clips: dict[str, ClipAudio] = {}
        self._tuned: dict[str, dict] = {}  # per analysis: named picks' features tuned by ear

    @property
    def trained(self) -> bool:
        return self.model.trained

    @property
    def warning(self) -> str | None:
        """A line every output must carry while the model is untrained."""
        return None if self.trained else self.model.metadata.get("warning")

    def analyze(self, path: str | Path, progress: Progress | None = None, cancel: Cancel | None = None) -> Analysis:
        analysis, clip = _analysis.analyze(self.model, path, self.cache_dir, progress, cancel)
        self._clips[analysis.key] = clip
        return analysis

    def clip(self, analysis: Analysis) -> ClipAudio:
        """The sound of ``analysis``'s clip (decoded once, on first use)."""
        if analysis.key not in self._clips:
            self._clips[analysis.key] = ClipAudio(analysis.info.path, analysis.info.audio.sample_rate, analysis.config,
                                                  self.cache_dir)
        return self._clips[analysis.key]

    def isolate(self, analysis: Analysis, queries: list[Query], progress: Progress | None = None,
                cancel: Cancel | None = None) -> Separation:
        clip = self.clip(analysis)
        return isolate(self.model, analysis, clip, queries, self._tuned.setdefault(analysis.key, {}), progress, cancel)

    def remix(self, analysis: Analysis, levels: list[tuple[Query, float]], progress: Progress | None = None,
              cancel: Cancel | None = None) -> np.ndarray:
        """The original with each queried source at its level in dB (the rest unchanged), memory-mapped."""
        separation = self.isolate(analysis, [q for q, _ in levels], progress, cancel)
        return self.clip(analysis).remix([stem.audio for stem in separation.sources],
                                         [10.0 ** (db / 20.0) for _, db in levels])
