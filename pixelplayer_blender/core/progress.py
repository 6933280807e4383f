"""How long work reports and stops: ``progress(fraction, message)`` as it goes, ``cancel()`` polled between
steps (a true answer raises :class:`.errors.Cancelled`).  Torch-free, for the Blender layer's jobs too."""
from __future__ import annotations

from typing import Callable

from .errors import Cancelled

Progress = Callable[[float, str], None]
Cancel = Callable[[], bool]


def quiet(fraction: float, message: str) -> None:
    """Progress nobody watches."""


def never() -> bool:
    """A cancel nobody asks for."""
    return False


def check(cancel: Cancel) -> None:
    """Raise :class:`.errors.Cancelled` if the work was asked to stop."""
    if cancel():
        raise Cancelled()


def part(progress: Progress, start: float, end: float) -> Progress:
    """``progress`` for one stage of the work, which runs from ``start`` to ``end`` of the whole."""
    return lambda fraction, message: progress(start + (end - start) * fraction, message)
