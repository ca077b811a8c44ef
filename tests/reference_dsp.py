"""Independent reference measurements for the DSP tests: nothing here is shared with the engine.

The true peak is read from band-limited (FFT, brick-wall) interpolation at 16× the sample rate,
in overlapping chunks with 4096-sample guards, so the measurement owes nothing to the engine's
polyphase interpolator or its oversampling grid.
"""

from __future__ import annotations

import numpy as np

FACTOR = 16
_CHUNK = 1 << 15
_GUARD = 4096


def _interpolated_peak(x: np.ndarray) -> float:
    """Largest |x(t)| of the band-limited signal through the samples ``x`` (zeros outside)."""
    padded = np.concatenate([np.zeros(_GUARD), np.asarray(x, np.float64), np.zeros(_GUARD)])
    peak = 0.0
    for start in range(_GUARD, len(padded) - _GUARD, _CHUNK):
        piece = padded[start - _GUARD : start + _CHUNK + _GUARD]
        spectrum = np.fft.rfft(piece)
        fine = np.fft.irfft(spectrum, FACTOR * len(piece)) * FACTOR
        inner = fine[FACTOR * _GUARD : FACTOR * (len(piece) - _GUARD)]
        peak = max(peak, float(np.abs(inner).max(initial=0.0)))
    return peak


def true_peak_16x_dbtp(samples: np.ndarray) -> float:
    """True peak over all channels at 16× oversampling, dBTP."""
    samples = samples[:, None] if samples.ndim == 1 else samples
    peak = max(_interpolated_peak(samples[:, ch]) for ch in range(samples.shape[1]))
    return 20.0 * np.log10(peak) if peak > 0 else -200.0


def tone_amplitude(x: np.ndarray, freq: float, rate: int) -> float:
    """Amplitude of the ``freq`` component of ``x`` (least-squares fit of a sine and a cosine)."""
    t = np.arange(len(x)) / rate
    basis = np.stack([np.sin(2 * np.pi * freq * t), np.cos(2 * np.pi * freq * t)], axis=1)
    coefficients, *_ = np.linalg.lstsq(basis, np.asarray(x, np.float64), rcond=None)
    return float(np.hypot(*coefficients))


def grid_envelope(x: np.ndarray, factor: int) -> np.ndarray:
    """Per sample n: the largest |value| of the band-limited signal on the ``factor`` grid from
    n to n+1 (exclusive), by FFT interpolation of the whole signal with zero guards."""
    padded = np.concatenate([np.zeros(_GUARD), np.asarray(x, np.float64), np.zeros(_GUARD)])
    fine = np.fft.irfft(np.fft.rfft(padded), factor * len(padded)) * factor
    inner = fine[factor * _GUARD : factor * (_GUARD + len(x))]
    return np.abs(inner).reshape(len(x), factor).max(axis=1)


def spectral_centroid_hz(mono: np.ndarray, rate: int, n_fft: int = 2048, hop: int = 512) -> float:
    """Mean over frames louder than −60 dBFS RMS of Σf·|X(f)| / Σ|X(f)| (Hann, 50 %-overlapping
    ``n_fft`` frames every ``hop`` samples) — the usual definition, computed here from scratch."""
    x = np.asarray(mono, np.float64)
    starts = np.arange(0, len(x) - n_fft + 1, hop)
    frames = x[starts[:, None] + np.arange(n_fft)[None, :]]
    loud = np.sqrt(np.mean(frames**2, axis=1)) > 1e-3
    magnitude = np.abs(np.fft.rfft(frames[loud] * np.hanning(n_fft + 1)[:-1], axis=1))
    freqs = np.fft.rfftfreq(n_fft, 1.0 / rate)
    return float(np.mean(magnitude @ freqs / np.maximum(magnitude.sum(axis=1), 1e-12)))
