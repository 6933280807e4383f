"""Recording-chain augmentation: a random equaliser and a synthetic room, applied in one FFT."""

from __future__ import annotations

import numpy as np


def room_response(rng: np.random.Generator, sample_rate: int) -> np.ndarray:
    """Impulse response: the direct sound plus an exponentially decaying diffuse tail."""
    rt60 = rng.uniform(0.15, 1.4)
    wet = rng.uniform(0.0, 0.6) if rng.random() < 0.8 else 0.0
    predelay = int(rng.uniform(0.005, 0.03) * sample_rate)
    n = int(min(rt60, 1.0) * sample_rate)
    t = np.arange(n) / sample_rate
    tail = rng.standard_normal(n) * np.exp(-6.9 * t / rt60)
    tail = np.convolve(tail, np.ones(3) / 3, mode="same")  # the air damps the highest frequencies
    ir = np.zeros(predelay + n)
    ir[0] = 1.0
    ir[predelay:] += wet * tail / np.sqrt(np.sum(tail**2) + 1e-12)
    return ir


def equaliser(rng: np.random.Generator, freqs: np.ndarray) -> np.ndarray:
    """Gain per frequency: tilt, one or two bells, and soft low/high cuts (at most about +-12 dB)."""
    octaves = np.log2(np.maximum(freqs, 20.0) / 1000.0)
    db = rng.uniform(-3, 3) * octaves
    for _ in range(int(rng.integers(0, 3))):
        centre, width = rng.uniform(-3, 2), rng.uniform(0.3, 1.5)
        db += rng.uniform(-8, 8) * np.exp(-0.5 * ((octaves - centre) / width) ** 2)
    low, high = rng.uniform(30, 250), rng.uniform(2500, 12000)
    db -= 12 * np.maximum(0, np.log2(low / np.maximum(freqs, 1.0)))
    db -= 12 * np.maximum(0, np.log2(np.maximum(freqs, 1.0) / high))
    return 10 ** (np.clip(db, -40, 12) / 20)


def colour(audio: np.ndarray, rng: np.random.Generator, sample_rate: int) -> np.ndarray:
    """``audio`` through a random equaliser and room, same length (the tail past the end is cut)."""
    ir = room_response(rng, sample_rate)
    needed = len(audio) + len(ir)
    n = min(m << int(np.ceil(np.log2(needed / m))) for m in (1, 3))  # 2^k or 3*2^k: fast FFT sizes
    coarse = np.linspace(0, sample_rate / 2, 512)
    gain = np.interp(np.fft.rfftfreq(n, 1.0 / sample_rate), coarse, equaliser(rng, coarse))
    spectrum = np.fft.rfft(audio, n) * np.fft.rfft(ir, n) * gain
    return np.fft.irfft(spectrum, n)[: len(audio)].astype(np.float32)
