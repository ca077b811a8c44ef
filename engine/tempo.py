"""Tempo (BPM) and rhythm stability of a mono signal: the fingerprint's temporal pulse.

The onset function is the mel spectral flux of the mono downmix (librosa's onset strength: the
standard onset function); the tempo is the strongest lag of its time-averaged tempogram under a
log-normal prior, with an octave check. numpy only.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from . import loudness

TEMPO_RANGE_BPM = (50.0, 220.0)
TEMPO_PRIOR_CENTRE_BPM = 120.0  # log-normal prior (σ = 1 octave) over the metrical levels
TEMPO_DOUBLE_RATIO = 0.9  # a pulse at half the lag this strong is the beat (no halved tempo)
TEMPOGRAM_SECONDS = 384 * 512 / 44100  # window of the local autocorrelation (~4.5 s)
FLUX_RATE = 11025  # the tempo's onset function works on the mono averaged down to about this rate
FLUX_FRAME_SECONDS = 512 / 11025  # its frames (~46 ms), every quarter frame


def estimate(mono: np.ndarray, rate: int) -> tuple[float, float]:
    """Tempo in BPM (0 when there is no pulse) and rhythm stability (0–1) of ``mono`` at ``rate`` Hz."""
    return _tempo(*_spectral_flux(mono, rate))


def _spectral_flux(mono: np.ndarray, rate: int) -> tuple[np.ndarray, float]:
    """Onset strength for tempo: mean over 40 mel bands of the rise of log power between
    successive frames (the spectral flux of librosa's ``onset_strength``), every ~11.6 ms.

    The mono signal is first averaged down to ~11 kHz (a boxcar low-pass; onsets live below
    5 kHz), then cut into Hann frames of ~46 ms every ~11.6 ms. Log power is floored 80 dB below
    the loudest band value. Returns the envelope and its hop in seconds.
    """
    factor = max(1, round(rate / FLUX_RATE))
    usable = len(mono) // factor * factor
    x = mono[:usable].reshape(-1, factor) @ np.full(factor, 1.0 / factor, np.float32) if factor > 1 else mono
    low_rate = rate / factor
    length = 1 << max(4, round(math.log2(FLUX_FRAME_SECONDS * round(low_rate))))  # a power of two, 512
    hop = length // 4
    if len(x) < length + hop:
        return np.zeros(1), hop / low_rate
    frames = sliding_window_view(x, length)[::hop]
    window = 0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(length) / length)
    mel = _mel_filters(length, low_rate)
    step = max(1, (1 << 20) // length)  # ~1 M samples per FFT call: a fresh process page-faults less
    bands = np.concatenate(  # float64 FFT: numpy's float32 one is slower
        [loudness.power_spectrum(np.fft.rfft(frames[i : i + step] * window, axis=1)) @ mel
         for i in range(0, len(frames), step)]
    )  # fmt: skip
    log_power = 10.0 * np.log10(np.maximum(bands, 1e-10))
    log_power = np.maximum(log_power, log_power.max() - 80.0)
    flux = np.maximum(np.diff(log_power, axis=0), 0.0).mean(axis=1)
    return np.concatenate([[0.0], flux]), hop / low_rate


def _mel_filters(length: int, rate: float, bands: int = 40) -> np.ndarray:
    """Triangular filters (bins × bands) evenly spaced on the mel scale (2595·log10(1 + f/700))
    from 0 Hz to Nyquist, each of unit area."""
    top = 2595.0 * np.log10(1.0 + rate / 2.0 / 700.0)
    edges = 700.0 * (10.0 ** (np.linspace(0.0, top, bands + 2) / 2595.0) - 1.0)
    freqs = np.fft.rfftfreq(length, 1.0 / rate)
    rising = (freqs[:, None] - edges[None, :-2]) / (edges[1:-1] - edges[:-2])[None, :]
    falling = (edges[None, 2:] - freqs[:, None]) / (edges[2:] - edges[1:-1])[None, :]
    weights = np.maximum(0.0, np.minimum(rising, falling))
    return weights * (2.0 / (edges[2:] - edges[:-2]))[None, :]


def _autocorrelation(onset: np.ndarray, window: int) -> np.ndarray:
    """Mean over the track of the local autocorrelation of the onset envelope (a tempogram
    averaged over time): Hann windows of ``window`` frames every ``window / 8``, each window's
    autocorrelation normalised to 1 at lag 0, silent windows skipped. Length ``window``."""
    n = len(onset)
    if n < window:
        onset = np.concatenate([onset, np.zeros(window - n)])
    starts = np.arange(0, max(1, len(onset) - window + 1), max(1, window // 8))
    frames = onset[starts[:, None] + np.arange(window)[None, :]] * np.hanning(window)[None, :]
    spectrum = np.fft.rfft(frames, 2 * window, axis=1)
    acf = np.fft.irfft(spectrum.real**2 + spectrum.imag**2, 2 * window, axis=1)[:, :window]
    alive = acf[:, 0] > 0
    if not alive.any():
        return np.zeros(window)
    return (acf[alive] / acf[alive, :1]).mean(axis=0)


def _tempo(onset: np.ndarray, hop_seconds: float) -> tuple[float, float]:
    """Tempo from the time-averaged tempogram of the onset envelope, with octave disambiguation.

    Candidate lags are the tempogram's peaks within 50–220 BPM. Each is weighted by a
    log-normal prior centred on 120 BPM (σ = 1 octave) to choose a metrical level. Then the
    pulse is checked at half the chosen lag: a periodic pulse also correlates at every multiple
    of its period, so when the half lag correlates at least 0.9 times as strongly, the half lag
    is the beat (a 200 BPM click is not 100 BPM). The winning lag is refined by parabolic
    interpolation.
    """
    min_lag = int(np.floor(60.0 / TEMPO_RANGE_BPM[1] / hop_seconds))
    max_lag = int(np.ceil(60.0 / TEMPO_RANGE_BPM[0] / hop_seconds))
    n = len(onset)
    if n < 2 * max_lag or not (onset - onset.mean()).any():
        return 0.0, 0.0
    acf = _autocorrelation(onset, round(TEMPOGRAM_SECONDS / hop_seconds))
    lags = np.arange(min_lag, min(max_lag + 1, len(acf) - 1))
    is_peak = (acf[lags] > acf[lags - 1]) & (acf[lags] >= acf[lags + 1]) & (acf[lags] > 0)
    if not is_peak.any():
        return 0.0, 0.0
    peak_lags = lags[is_peak]
    bpm = 60.0 / (peak_lags * hop_seconds)
    prior = np.exp(-0.5 * np.log2(bpm / TEMPO_PRIOR_CENTRE_BPM) ** 2)
    best = int(peak_lags[np.argmax(acf[peak_lags] * prior)])
    while True:
        near_half = peak_lags[np.abs(peak_lags - best / 2) <= max(1.0, 0.03 * best)]
        if not len(near_half):
            break
        half = int(near_half[np.argmax(acf[near_half])])
        if acf[half] < TEMPO_DOUBLE_RATIO * acf[best]:
            break
        best = half
    left, centre, right = acf[best - 1], acf[best], acf[best + 1]
    curvature = left - 2 * centre + right
    shift = 0.5 * (left - right) / curvature if curvature < 0 else 0.0
    return float(60.0 / ((best + shift) * hop_seconds)), float(np.clip(centre, 0.0, 1.0))
