"""Errors the user is meant to read: one clear line, no traceback."""


class PixelPlayerError(Exception):
    """Bad input or an environment problem, explained in plain words."""


class Cancelled(PixelPlayerError):
    """The user cancelled a long operation; nothing was left behind."""

    def __init__(self) -> None:
        super().__init__("cancelled")
