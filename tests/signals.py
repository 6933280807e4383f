"""Measures the tests share on signals."""
from __future__ import annotations

import numpy as np


def snr_db(reference: np.ndarray, estimate: np.ndarray) -> float:
    """How close ``estimate`` is to ``reference``: their signal-to-error ratio in dB."""
    return float(10 * np.log10(np.sum(reference**2) / max(np.sum((reference - estimate) ** 2), 1e-30)))
