"""Tempo (BPM) and rhythm stability of a mono signal.

Two onset functions come from one mel spectrogram of the mono signal averaged down to ~11 kHz
(40 bands, Hann frames of ~46 ms every ~11.6 ms):

* the *onset strength* — the rise of log band power, averaged over bands (librosa's
  ``onset_strength``; the log makes a quiet hi-hat count like a kick): it finds the pulse;
* the *accent* — the rise of band magnitude (√power), summed over bands (the spectral flux of
  Bello et al. 2005, "A tutorial on onset detection in music signals"): loud events weigh more
  than quiet ones, so it tells a strong beat from a weak subdivision.

The tempo is the strongest lag of the onset strength's time-averaged tempogram under a log-normal
prior centred on 120 BPM, σ = 1 octave (Ellis 2007, "Beat tracking by dynamic programming", JNMR
36(1), weights the tempogram with a log-Gaussian around 120 BPM; librosa's default σ is 1 octave).
Tempograms are smoothed [¼, ½, ¼] across lags: a period between two lags splits its peak (a
188 BPM click is 27.5 hops). The metrical level is then checked twice:

* faster: a periodic pulse also correlates at every multiple of its period, so when half the
  chosen lag correlates ≥ 0.9 times as strongly, the half lag is the beat (a 200 BPM click is
  not 100 BPM);
* slower: when the accent correlates much less at the chosen lag than at twice the lag, every
  other pulse is weak (kick and snare on the quarters, a hi-hat alone on the off-beat eighths),
  so the chosen level is a subdivision and twice the lag is the beat. For two alternating pulse
  strengths a > b the ratio is 2ab / (a² + b²); 0.86 is b ≈ 0.57·a. The accent's tempogram is
  corrected for the taper of its window first. On real music with drums of known tempo the
  ratio was 0.49–0.82 at subdivisions and ≥ 0.9 at beats (bench/README.md).

numpy only.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .fft import rfft_rows
from .loudness import power_spectrum

TEMPO_RANGE_BPM = (50.0, 220.0)
TEMPO_PRIOR_CENTRE_BPM = 120.0  # log-normal prior (σ = 1 octave) over the metrical levels
TEMPO_DOUBLE_RATIO = 0.9  # a pulse at half the lag this strong is the beat (no halved tempo)
SUBDIVISION_RATIO = 0.86  # accent correlation at the lag ÷ at twice the lag below this: a subdivision
TEMPOGRAM_SECONDS = 384 * 512 / 44100  # window of the local autocorrelation (~4.5 s)
FLUX_RATE = 11025  # the onset functions work on the mono averaged down to about this rate
FLUX_FRAME_SECONDS = 512 / 11025  # their frames (~46 ms), every quarter frame
MEL_BANDS = 40


class MelFlux:
    """The onset functions of a mono signal fed as it grows (:meth:`feed`), then its tempo
    (:meth:`result`).

    The mel band power (40 bands) comes from the signal averaged down to ~11 kHz (a boxcar
    low-pass; onsets live below 5 kHz) and cut into Hann frames of ~46 ms every ~11.6 ms. Frames
    are transformed in blocks of :data:`BLOCK_FRAMES` as soon as a block's samples have arrived,
    each block from its own stretch of the signal, so the values do not depend on how it arrives.
    """

    BLOCK_FRAMES = 512  # ~256 k samples per FFT call: the temporaries stay in cache (2048: 20 % slower)

    def __init__(self, rate: int) -> None:
        self.factor = max(1, round(rate / FLUX_RATE))
        low_rate = rate / self.factor
        self.length = length = 1 << max(4, round(math.log2(FLUX_FRAME_SECONDS * round(low_rate))))  # 512
        self.hop = length // 4
        self.hop_seconds = self.hop / low_rate
        self.window = (0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(length) / length)).astype(np.float32)
        self.mel = _mel_filters(length, low_rate).astype(np.float32)
        self.average = np.full(self.factor, 1.0 / self.factor, np.float32)
        self.parts: list[np.ndarray] = []
        self.done = 0  # frames transformed

    def feed(self, mono: np.ndarray) -> None:
        """Transform the whole blocks of frames of ``mono`` (a growing prefix) not transformed yet."""
        while self._block(mono, self.done + self.BLOCK_FRAMES) is not None:
            pass

    def result(self, mono: np.ndarray) -> tuple[float, float]:
        """Tempo in BPM (0 when there is no pulse) and rhythm stability (0–1) of ``mono``, the whole signal."""
        self.feed(mono)
        self._block(mono, self._frames(len(mono)))
        if self.done < 2:
            return 0.0, 0.0
        power = np.concatenate(self.parts)
        log_power = 10.0 * np.log10(np.maximum(power, 1e-10))
        log_power = np.maximum(log_power, log_power.max() - 80.0)  # floored 80 dB under the loudest
        onset = _rise(log_power) / MEL_BANDS
        accent = _rise(np.sqrt(power))
        return _tempo(onset, accent, self.hop_seconds)

    def _frames(self, samples: int) -> int:
        """Frames that fit in ``samples`` samples of the signal (none if they fit less than two hops)."""
        low = samples // self.factor
        return 0 if low < self.length + self.hop else (low - self.length) // self.hop + 1

    def _block(self, mono: np.ndarray, last: int) -> int | None:
        """Transform frames ``done``…``last`` − 1 when ``mono`` holds them; the new count, else None."""
        if last <= self.done or self._frames(len(mono)) < last:
            return None
        start, end = self.done * self.hop * self.factor, ((last - 1) * self.hop + self.length) * self.factor
        x = mono[start:end]
        if self.factor > 1:
            x = x.reshape(-1, self.factor) @ self.average
        frames = sliding_window_view(x, self.length)[:: self.hop]
        self.parts.append(_band_power(frames, self.window, self.mel))
        self.done = last
        return last


def _band_power(frames: np.ndarray, window: np.ndarray, mel: np.ndarray) -> np.ndarray:
    """Mel band power of windowed frames, in float32 (:func:`engine.fft.rfft_rows`)."""
    return power_spectrum(rfft_rows(frames * window)) @ mel


def _rise(bands: np.ndarray) -> np.ndarray:
    """Sum over bands of the rise (half-wave rectified difference) between successive frames."""
    return np.concatenate([[0.0], np.maximum(np.diff(bands, axis=0), 0.0).sum(axis=1)])


def _mel_filters(length: int, rate: float, bands: int = MEL_BANDS) -> np.ndarray:
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


def _window_overlap(window: int) -> np.ndarray:
    """The Hann window's own autocorrelation, 1 at lag 0: how much a lag's correlation is tapered."""
    spectrum = np.fft.rfft(np.hanning(window), 2 * window)
    overlap = np.fft.irfft(spectrum.real**2 + spectrum.imag**2, 2 * window)[:window]
    return overlap / overlap[0]


def _tempo(onset: np.ndarray, accent: np.ndarray, hop_seconds: float) -> tuple[float, float]:
    """Tempo from the time-averaged tempogram of the onset strength, with octave disambiguation
    (module docstring): candidate lags are its peaks within 50–220 BPM, weighted by the prior;
    then the half lag is checked (faster), then the accent at twice the lag (slower). The
    winning lag is refined by parabolic interpolation."""
    min_lag = int(np.ceil(60.0 / TEMPO_RANGE_BPM[1] / hop_seconds))  # the lags whose tempo is in range:
    max_lag = int(np.floor(60.0 / TEMPO_RANGE_BPM[0] / hop_seconds))  # a faster pulse is read in half time
    n = len(onset)
    if n < 2 * max_lag or not (onset - onset.mean()).any():
        return 0.0, 0.0
    window = round(TEMPOGRAM_SECONDS / hop_seconds)
    raw = _autocorrelation(onset, window)
    acf = _smooth(raw)
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
    if 2 * best <= max_lag:
        accents = _smooth(_autocorrelation(accent, window) / np.maximum(_window_overlap(window), 0.05))
        if _near(accents, best) < SUBDIVISION_RATIO * _near(accents, 2 * best):
            best = 2 * best - 1 + int(np.argmax(acf[2 * best - 1 : 2 * best + 2]))
    left, centre, right = acf[best - 1], acf[best], acf[best + 1]
    curvature = left - 2 * centre + right
    shift = 0.5 * (left - right) / curvature if curvature < 0 else 0.0
    return float(60.0 / ((best + shift) * hop_seconds)), float(np.clip(_near(raw, best), 0.0, 1.0))


def _near(values: np.ndarray, lag: int) -> float:
    """The largest of ``values`` within one lag of ``lag`` (a peak between two lags counts)."""
    return float(values[lag - 1 : lag + 2].max())


def _smooth(values: np.ndarray) -> np.ndarray:
    """[¼, ½, ¼] across neighbouring lags: a period between two lags splits its peak between them."""
    out = values.copy()
    out[1:-1] = 0.5 * values[1:-1] + 0.25 * (values[:-2] + values[2:])
    return out
