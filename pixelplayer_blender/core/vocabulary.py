"""How the model's instrument names are known to a pretrained classifier: a table of its classes."""
from __future__ import annotations

import torch
from torch import Tensor


def class_table(labels: tuple[str, ...], classes: list[str], known_as: dict[str, tuple[str, ...]],
                classifier: str) -> Tensor:
    """``(len(labels), len(classes))``: 1 where ``known_as`` says a class is how a name is known to the
    ``classifier`` (named in the error when a class is not among ``classes``); a name it lacks has no class."""
    index = {name: i for i, name in enumerate(classes)}
    out = torch.zeros(len(labels), len(classes))
    for row, label in enumerate(labels):
        for name in known_as.get(label, ()):
            if name not in index:
                raise ValueError(f"{classifier} has no class {name!r} (for {label!r}): not its class names?")
            out[row, index[name]] = 1.0
    return out
