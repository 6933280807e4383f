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


def microphone(audio: np.ndarray, rng: np.random.Generator, sample_rate: int) -> np.ndarray:
    """A microphone and a recorder: a noise floor (white to brown, 45-75 dB under the signal), soft
    compression, and now and then AAC coding at a low bitrate."""
    rms = float(np.sqrt(np.mean(audio**2)))
    if rms == 0.0:
        return audio
    tilt = rng.uniform(0.0, 2.0)  # 0: white, 1: pink, 2: brown
    freqs = np.fft.rfftfreq(len(audio), 1.0 / sample_rate)
    noise = np.fft.irfft(np.fft.rfft(rng.standard_normal(len(audio))) / np.maximum(freqs, 20.0) ** (tilt / 2),
                         len(audio))
    noise *= rms * 10 ** (-rng.uniform(45, 75) / 20) / max(float(np.sqrt(np.mean(noise**2))), 1e-12)
    out = audio + noise.astype(np.float32)
    if rng.random() < 0.3:  # a compressor: tanh knee at 2-6 x RMS
        knee = rms * rng.uniform(2, 6)
        out = (knee * np.tanh(out / knee)).astype(np.float32)
    if rng.random() < 0.3:
        out = aac(out, sample_rate, int(rng.choice((24, 32, 48))) * 1000)
    return out.astype(np.float32)


def aac(audio: np.ndarray, sample_rate: int, bitrate: int) -> np.ndarray:
    """``audio`` (mono float32) encoded to AAC at ``bitrate`` and decoded back, aligned, same length."""
    import io

    import av

    buffer = io.BytesIO()
    with av.open(buffer, "w", format="adts") as container:
        stream = container.add_stream("aac", rate=sample_rate, layout="mono")
        stream.bit_rate = bitrate
        for start in range(0, len(audio), 1024):
            frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(audio[None, start:start + 1024]),
                                               format="fltp", layout="mono")
            frame.sample_rate, frame.pts = sample_rate, start
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    buffer.seek(0)
    with av.open(buffer, "r", format="adts") as container:
        decoded = np.concatenate([f.to_ndarray().reshape(-1) for f in container.decode(audio=0)])
    lag = int(np.argmax(np.correlate(decoded[:8192], audio[:4096], "valid"))) if len(decoded) >= 8192 else 0
    out = np.zeros_like(audio)
    tail = decoded[lag:lag + len(audio)]
    out[:len(tail)] = tail
    return out
