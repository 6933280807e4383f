"""ImageNet backbones for the video net: converted once, then carried inside every checkpoint.

:func:`convert` reads torchvision's quantized ``mobilenet_v2`` as TorchScript (as in
``pytorch/ios-demo-app``: int8 weights, batch norms already folded) or a float torchvision
``mobilenet_v2`` state dict (batch norms folded here), and gives float weights in the key layout
of :func:`..core.nets.mobilenet_v2_features`.  :func:`save` writes them with their provenance;
``train.py --backbone`` reads them back with :func:`load_into`.
"""
from __future__ import annotations

import re
import zipfile
from pathlib import Path

import torch
from torch import nn

from ..core.files import atomic_path

FORMAT = "pixelplayer-backbone/1"
_HOISTED = re.compile(r'"_jit_pass_hoist_conv_packed_params\.(.+?)\._packed_params\.(\d+)"')


def _unpack(packed: torch.ScriptObject) -> tuple[torch.Tensor, torch.Tensor | None]:
    conv = "Conv" in packed._type().qualified_name()
    weight, bias = (torch.ops.quantized.conv2d_unpack if conv else torch.ops.quantized.linear_unpack)(packed)
    return weight.dequantize(), bias


def from_torchscript(path: str | Path) -> dict[str, torch.Tensor]:
    """Dequantised weights and biases of a quantized TorchScript model, keyed by layer.

    Packed parameters sit on their layer (``features.0.0._packed_params``; a linear layer wraps
    them once more) or, after mobile optimisation, on the root under a name that keeps the layer's.
    """
    module = torch.jit.load(str(path), map_location="cpu")
    packed = {name.removesuffix("._packed_params"): sub._c.getattr("_packed_params")
              for name, sub in module.named_modules() if name and sub._c.hasattr("_packed_params")}
    packed.update({layer: module._c.getattr(f"_jit_pass_hoist_conv_packed_params.{layer}._packed_params.{n}")
                   for layer, n in _HOISTED.findall(module.code)})
    state = {}
    for layer, params in packed.items():
        if isinstance(params, torch._C.ScriptModule):  # the wrapper module, its packed parameters listed too
            continue
        weight, bias = _unpack(params)
        state[f"{layer}.weight"] = weight
        if bias is not None:
            state[f"{layer}.bias"] = bias.detach().float()
    return state


def _next_sibling(prefix: str) -> str | None:
    parent, _, index = prefix.rpartition(".")
    return f"{parent}.{int(index) + 1}" if index.isdigit() else None


def fold_batchnorm(state: dict[str, torch.Tensor], eps: float = 1e-5) -> dict[str, torch.Tensor]:
    """Fold every batch norm into the convolution before it; other entries pass through.

    torchvision's layout puts a convolution's norm at its next sibling: ``P.i.weight``, then
    ``P.{i+1}.running_var`` and so on.
    """
    norms = {key.rsplit(".", 1)[0] for key in state if key.endswith(".running_var")}
    out: dict[str, torch.Tensor] = {}
    for key, value in state.items():
        prefix, leaf = key.rsplit(".", 1)
        norm = _next_sibling(prefix)
        if prefix in norms or (norm in norms and leaf == "bias"):
            continue  # the norm itself, or a conv bias: folded below
        if norm in norms and leaf == "weight":
            scale = state[f"{norm}.weight"] / torch.sqrt(state[f"{norm}.running_var"] + eps)
            bias = state.get(f"{prefix}.bias", torch.zeros_like(scale))
            out[key] = value * scale.view(-1, *[1] * (value.dim() - 1))
            out[f"{prefix}.bias"] = (bias - state[f"{norm}.running_mean"]) * scale + state[f"{norm}.bias"]
        else:
            out[key] = value
    return out


def convert(path: str | Path) -> dict[str, torch.Tensor]:
    """Float, folded weights from a quantized TorchScript file or a torchvision state dict file."""
    with zipfile.ZipFile(path) as archive:
        scripted = any(name.split("/")[1:2] == ["code"] for name in archive.namelist())
    if scripted:
        return from_torchscript(path)
    state = torch.load(path, map_location="cpu", weights_only=True)
    return fold_batchnorm({k: v.float() for k, v in state.items() if not k.endswith("num_batches_tracked")})


def save(path: str | Path, state: dict[str, torch.Tensor], source: str) -> Path:
    """Write a backbone file: the weights and where they came from (repository@commit:path, licence)."""
    path = Path(path)
    with atomic_path(path) as tmp:
        torch.save({"format": FORMAT, "source": source, "state_dict": state}, tmp)
    return path


def under(state: dict[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    """The entries of ``state`` under ``prefix`` (``"features."``, ``"classifier.1."``), the prefix dropped:
    a part of a converted network, keyed as its module."""
    return {k.removeprefix(prefix): v for k, v in state.items() if k.startswith(prefix)}


def load_into(trunk: nn.Module, path: str | Path) -> str:
    """Load a backbone file's ``features.*`` weights into ``trunk`` (the first blocks of
    :func:`..core.nets.mobilenet_v2_features`: all of its entries must be there); returns the source."""
    saved = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(saved, dict) or saved.get("format") != FORMAT:
        raise ValueError(f"{path} is not a backbone file (see scripts/convert_backbone.py)")
    weights = under(saved["state_dict"], "features.")
    missing = sorted(set(trunk.state_dict()) - set(weights))
    if missing:
        raise ValueError(f"{path} lacks {len(missing)} weights of the trunk, e.g. features.{missing[0]}")
    trunk.load_state_dict({k: weights[k] for k in trunk.state_dict()})
    return saved["source"]
