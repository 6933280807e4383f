"""How operators fail: one report line for what the user can fix, a traceback for the rest."""
from __future__ import annotations

import functools
import traceback
from typing import Callable

from .pure import deps, installer


class UserError(RuntimeError):
    """Bad input, explained in one line for ``Operator.report``."""


def failure(error: BaseException, action: str) -> tuple[str, str]:
    """The report (level, text) for an exception raised while doing ``action``."""
    from ..core.errors import Cancelled, PixelPlayerError

    if isinstance(error, Cancelled):
        return "WARNING", f"{action} cancelled"
    if isinstance(error, (PixelPlayerError, deps.MissingDependency, installer.InstallError, UserError)):
        return "ERROR", str(error)
    traceback.print_exception(error)
    return "ERROR", f"{action} failed: {type(error).__name__}: {error}"


def reports(action: str | None = None) -> Callable:
    """Wrap an operator method: an exception becomes one report and ``{'CANCELLED'}``.

    ``action`` names what failed in the report; ``None`` uses the operator's ``bl_label``.  Blender
    checks how many arguments ``execute``/``invoke`` take, so the wrapper takes as many as ``method``.
    """
    def wrap(method: Callable) -> Callable:
        def call(self, *args):
            try:
                return method(self, *args)
            except Exception as error:
                level, text = failure(error, action or self.bl_label)
                self.report({level}, text)
                return {"CANCELLED"}

        if method.__code__.co_argcount == 3:
            return functools.wraps(method)(lambda self, context, event: call(self, context, event))
        return functools.wraps(method)(lambda self, context: call(self, context))
    return wrap
