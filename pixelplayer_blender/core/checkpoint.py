"""Checkpoints: one file with weights, config and metadata, loaded without running code.

``torch.load(..., weights_only=True)`` only rebuilds tensors and plain containers,
so a checkpoint can never execute anything.  When no trained model ships yet, the
engine runs a seeded untrained model and says so in every output.
"""
from __future__ import annotations

import hashlib
import pickle
import zipfile
from dataclasses import dataclass
from pathlib import Path

import torch

from .. import __version__ as ENGINE_VERSION
from .config import PRESETS, ModelConfig
from .errors import PixelPlayerError
from .files import atomic_path
from .nets import PixelPlayerNet

FORMAT = "pixelplayer-checkpoint/1"
DEFAULT_NAME = "pixelplayer.pt"
UNTRAINED_WARNING = "UNTRAINED MODEL: no trained checkpoint is installed, separations are not meaningful"


@dataclass
class LoadedModel:
    net: PixelPlayerNet
    metadata: dict
    model_id: str  # identifies the weights, for cache keys

    @property
    def trained(self) -> bool:
        return bool(self.metadata.get("trained", False))


def models_dirs() -> list[Path]:
    """Where the bundled model may live: inside the installed extension, or the repository's ``models/``."""
    package = Path(__file__).resolve().parent.parent
    return [package / "models", package.parent / "models"]


def default_checkpoint() -> Path | None:
    return next((d / DEFAULT_NAME for d in models_dirs() if (d / DEFAULT_NAME).is_file()), None)


def save_checkpoint(path: str | Path, net: PixelPlayerNet, metadata: dict) -> Path:
    """Write weights, config and metadata (training data, metrics, ...; the engine version is added) atomically."""
    path = Path(path)
    metadata = {"engine_version": ENGINE_VERSION, **metadata}
    weights = {k: v.detach().cpu() for k, v in net.state_dict().items()}
    # The tagger's and the eyes' weights were int8 at their source: float16 keeps them, at half the size.
    weights.update({k: v.half() for k, v in weights.items() if k.startswith(("heard.", "eyes."))})
    state = {"format": FORMAT, "config": net.config.to_dict(), "metadata": metadata, "state_dict": weights}
    with atomic_path(path) as tmp:
        torch.save(state, tmp)
    return path


def load_checkpoint(path: str | Path, device: str = "cpu") -> LoadedModel:
    """Load a checkpoint, with one clear error for a missing, corrupt or incompatible file."""
    path = Path(path)
    if not path.is_file():
        raise PixelPlayerError(f"checkpoint not found: {path}")
    try:
        state = torch.load(path, map_location=device, weights_only=True)
    except (pickle.UnpicklingError, zipfile.BadZipFile, RuntimeError, EOFError, ValueError, OSError) as e:
        if "Unsupported global" in str(e):  # torch's weights-only unpickler refused an object
            raise PixelPlayerError(f"checkpoint {path} is unusable: it holds objects other than tensors and plain "
                                   "data, which are never loaded since they could run code") from None
        # torch's own message is pages long, and its advice (weights_only=False) is unsafe.
        raise PixelPlayerError(f"checkpoint {path} is unreadable: truncated, corrupt or not a PixelPlayer "
                               "checkpoint") from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        found = state.get("format") if isinstance(state, dict) else type(state).__name__
        raise PixelPlayerError(f"checkpoint {path} is incompatible: expected format {FORMAT}, found {found}")
    for name in ("config", "metadata", "state_dict"):
        if not isinstance(state.get(name, {}), dict):
            raise PixelPlayerError(f"checkpoint {path} is incompatible: its {name!r} is a "
                                   f"{type(state[name]).__name__}, not a dict")
    try:
        net = PixelPlayerNet(ModelConfig.from_dict(state["config"]))
        net.load_state_dict(state["state_dict"])
    except (KeyError, TypeError, ValueError, RuntimeError) as e:
        raise PixelPlayerError(f"checkpoint {path} is incompatible with this version: {str(e).splitlines()[0]}") from None
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    return LoadedModel(net.to(device).eval(), dict(state.get("metadata", {})), digest)


def untrained_model(preset: str = "lite", seed: int = 0, device: str = "cpu") -> LoadedModel:
    """A seeded, untrained model: the stand-in until a trained checkpoint ships."""
    torch.manual_seed(seed)
    net = PixelPlayerNet(PRESETS[preset])
    metadata = {"trained": False, "warning": UNTRAINED_WARNING, "preset": preset, "seed": seed}
    return LoadedModel(net.to(device).eval(), metadata, f"untrained-{preset}-{seed}")


def load_model(checkpoint: str | Path | None = None, device: str = "cpu") -> LoadedModel:
    """The given checkpoint, else the bundled default, else the untrained stand-in."""
    path = checkpoint or default_checkpoint()
    return load_checkpoint(path, device) if path else untrained_model(device=device)
