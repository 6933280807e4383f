"""The extension's operators, one per module; only :mod:`..addon` imports them (to register them)."""
