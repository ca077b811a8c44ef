"""The 25-dimension audio fingerprint, computed on a whole track at its native rate.

Every value is in physical units (Hz, dB, LUFS, LU, BPM, seconds⁻¹) or a bounded ratio, and
every dimension is defined for silence and for very short files (no NaN, no infinity).
More than two channels are folded to stereo first (``audio.to_stereo``).

Analysis starts with a DC blocker: a 20 Hz 2nd-order Butterworth high-pass on every channel,
so a DC offset or subsonic drift never reaches a feature. Then:

* loudness (``lufs``, ``loudness_variation_lu``) comes from the meter itself
  (``engine.loudness.segment_power`` — the BS.1770-4 K-weighting, which ignores DC anyway);
* band shares, ``bass_mid_ratio_db`` and the harmonic features come from Hann-windowed frames
  of the mono downmix of about 0.74 s (32768 samples at 44.1 kHz: 1.35 Hz bins, so the 60 Hz
  edge between sub-bass and bass is resolved to within a few hertz);
* centroid, rolloff and flatness follow their usual definitions: per frame of about 46 ms
  (2048 samples at 44.1 kHz) on the Hann-windowed *magnitude* spectrum of the mono downmix,
  averaged over non-silent frames;
* tempo and rhythm stability come from the mel spectral flux of the mono downmix (librosa's
  onset strength: the standard onset function) through a time-averaged tempogram;
* the other temporal, dynamic, variation and stereo features come from the high-passed samples.

scipy is imported inside the functions that use it (``import engine.fingerprint`` stays light).
"""

from __future__ import annotations

import math
from itertools import pairwise

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from . import loudness
from .audio import to_mono, to_stereo
from .features import (  # noqa: F401 - re-exported: the data lives in the numpy-free engine.features
    BAND_NAMES,
    FEATURE_LIMITS,
    FEATURE_NAMES,
    FINGERPRINT_VERSION,
    Fingerprint,
)

HIGHPASS_HZ = 20.0
BAND_EDGES_HZ = (20.0, 60.0, 250.0, 500.0, 2000.0, 4000.0, 8000.0, 20000.0)
SILENCE_DBFS = -60.0  # windows quieter than this count as silence
ENVELOPE_HOP_SECONDS = 0.005  # temporal features work on a 5 ms energy envelope
SPECTRAL_FRAME_SECONDS = 2048 / 44100  # frames of the spectral features (2048 samples at 44.1 kHz)
BAND_FRAME_SECONDS = 32768 / 44100  # frames of the band shares and harmonic features
ROLLOFF_SHARE = 0.85
FLATNESS_FLOOR = 1e-10  # power floor of the flatness (librosa's ``amin``)
TEMPO_RANGE_BPM = (50.0, 220.0)
TEMPO_PRIOR_CENTRE_BPM = 120.0  # log-normal prior (σ = 1 octave) over the metrical levels
TEMPO_DOUBLE_RATIO = 0.9  # a pulse at half the lag this strong is the beat (no halved tempo)
CHROMA_RANGE_HZ = (55.0, 5000.0)
TEMPOGRAM_SECONDS = 384 * 512 / 44100  # window of the local autocorrelation (~4.5 s)
FLUX_RATE = 11025  # the tempo's onset function works on the mono averaged down to about this rate
FLUX_FRAME_SECONDS = 512 / 11025  # its frames (~46 ms), every quarter frame


def _db(ratio: float, floor: float = -200.0) -> float:
    return 10.0 * float(np.log10(ratio)) if ratio > 0 else floor


def _ratio_db(numerator: float, denominator: float, limit: float = 60.0) -> float:
    """10·log10(numerator / denominator) clamped to ±limit; 0 when both are empty."""
    if numerator <= 0 and denominator <= 0:
        return 0.0
    if denominator <= 0:
        return limit
    return float(np.clip(_db(numerator / denominator, -limit), -limit, limit))


def fingerprint(samples: np.ndarray, rate: int) -> Fingerprint:
    """Compute the fingerprint of ``samples`` (float32, frames × channels) at ``rate`` Hz."""
    if samples.shape[1] > 2:
        samples = to_stereo(samples)
    segments = loudness.segment_power(samples, rate)
    clean = dc_block(samples, rate)
    mono = to_mono(clean)
    hop = max(1, round(rate * ENVELOPE_HOP_SECONDS))
    hop_energy = _hop_energy(clean, hop)
    per_second = max(1, round(rate / hop)) * hop
    second_peaks = _block_peaks(clean, per_second)
    peak = max(
        float(second_peaks.max(initial=0.0)),
        float(_block_peaks(clean[len(second_peaks) * per_second :], 1).max(initial=0.0)),
    )
    freqs, band_power = frame_spectra(mono, _frame_length(BAND_FRAME_SECONDS, rate), rate)
    products = _channel_products(clean)
    lufs = loudness.integrated_from_segments(segments)
    if samples.shape[1] == 1 and lufs > loudness.FLOOR_LUFS:
        lufs += loudness.MONO_ON_TWO_SPEAKERS_LU  # heard on two speakers (loudness.playback_loudness)
    spectrum = band_power.sum(axis=0, dtype=np.float64)
    bass_mid = _ratio_db(_band_energy(spectrum, freqs, 60, 250), _band_energy(spectrum, freqs, 500, 2000))
    values = {
        **_bands(spectrum, freqs),
        "lufs": lufs,
        "crest_db": _crest_db(peak, products, len(clean)),
        "bass_mid_ratio_db": bass_mid,
        **_temporal(clean, mono, hop_energy, hop, rate),
        **_spectral(mono, rate),
        **_harmonic(band_power, freqs),
        **_variation(second_peaks, hop_energy, per_second // hop, segments),
        **_stereo(*products),
    }
    return Fingerprint(**values)


def dc_block(samples: np.ndarray, rate: int) -> np.ndarray:
    """``samples`` through a 20 Hz 2nd-order Butterworth high-pass (float32, same shape).

    The filter starts in the steady state of the first sample, so a file that opens on a DC
    offset does not begin with a step (a false peak).
    """
    from scipy.signal import butter, sosfilt, sosfilt_zi  # scipy.signal is imported on use (~0.8 s)

    sos = butter(2, HIGHPASS_HZ, "highpass", fs=rate, output="sos")
    zi = sosfilt_zi(sos)
    sos = sos.astype(np.float32)  # float32 filtering: error below −80 dBFS RMS, fine for analysis
    out = np.empty(samples.shape, np.float32)
    for ch in range(samples.shape[1]):
        if len(samples):
            channel = np.ascontiguousarray(samples[:, ch], dtype=np.float32)
            out[:, ch] = sosfilt(sos, channel, zi=(zi * channel[0]).astype(np.float32))[0]
    return out


def _frame_length(seconds: float, rate: int) -> int:
    """The power of two nearest to ``seconds`` at ``rate`` (2048 for 46 ms at 44.1 kHz)."""
    return 1 << max(4, round(math.log2(seconds * rate)))


def frame_spectra(mono: np.ndarray, length: int, rate: int, power: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Bin frequencies and |X|² (or |X| when ``power`` is false) of consecutive Hann-windowed frames.

    The window is the periodic Hann window; frames do not overlap; a file shorter than one frame
    is zero-padded to one. The spectrum is not normalised (Σ over the frame, as an FFT gives it).
    """
    from scipy import fft as sfft

    count = max(1, len(mono) // length)
    if len(mono) < length:
        mono = np.concatenate([mono, np.zeros(length - len(mono), np.float32)])
    window = (0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(length) / length)).astype(np.float32)
    frames = mono[: count * length].reshape(count, length) * window
    spectrum = sfft.rfft(frames, axis=1, workers=1)
    values = np.square(spectrum.real) + np.square(spectrum.imag)
    return np.fft.rfftfreq(length, 1.0 / rate), values if power else np.sqrt(values)


def _channel_products(samples: np.ndarray) -> tuple[float, float, float]:
    """Σ L², Σ R², Σ L·R (mono: L = R)."""
    left = samples[:, 0]
    right = samples[:, 1] if samples.shape[1] > 1 else left
    ll = float(np.dot(left, left))
    if right is left:
        return ll, ll, ll
    return ll, float(np.dot(right, right)), float(np.dot(left, right))


def _crest_db(peak: float, products: tuple[float, float, float], frames: int) -> float:
    mean_square = (products[0] + products[1]) / (2.0 * max(frames, 1))
    return _db(peak * peak / mean_square, 0.0) if mean_square > 0 else 0.0


def _hop_energy(samples: np.ndarray, hop: int) -> np.ndarray:
    """Mean square over all channels in consecutive hops of ``hop`` frames."""
    count = len(samples) // hop
    if count == 0:
        return np.zeros(1)
    blocks = samples[: count * hop].reshape(count, -1)
    return np.einsum("ij,ij->i", blocks, blocks, dtype=np.float64) / blocks.shape[1]


def _band_energy(spectrum: np.ndarray, freqs: np.ndarray, low: float, high: float) -> float:
    return float(spectrum[(freqs >= low) & (freqs < high)].sum())


def _bands(spectrum: np.ndarray, freqs: np.ndarray) -> dict[str, float]:
    energy = np.array([_band_energy(spectrum, freqs, lo, hi) for lo, hi in pairwise(BAND_EDGES_HZ)])
    total = energy.sum()
    shares = energy / total if total > 0 else np.zeros_like(energy)
    return {name: float(share) for name, share in zip(BAND_NAMES, shares, strict=True)}


def _onset_envelope(samples: np.ndarray, hop: int, hop_energy: np.ndarray) -> np.ndarray:
    """Onset strength every ``hop`` samples: the half-wave rectified rise of log energy of the
    first difference of the signal (a 6 dB/octave tilt that mutes sustained bass, whose
    energy ripple would otherwise alias into the envelope), smoothed over two hops.

    Σ(x[n] − x[n−1])² = Σx[n]² + Σx[n−1]² − 2·Σx[n]·x[n−1], so no difference signal is built.
    """
    count = (len(samples) - 1) // hop
    if count == 0:
        return np.zeros(1)
    current = samples[1 : 1 + count * hop].reshape(count, -1)
    previous = samples[: count * hop].reshape(count, -1)
    cross = np.einsum("ij,ij->i", current, previous, dtype=np.float64)
    energy = np.einsum("ij,ij->i", current, current, dtype=np.float64) + hop_energy[:count] * previous.shape[1]
    energy = np.maximum(energy - 2.0 * cross, 0.0) / previous.shape[1]
    energy[1:] = 0.5 * (energy[1:] + energy[:-1])
    log_energy = np.log10(energy + 1e-10)
    return np.maximum(np.diff(log_energy, prepend=log_energy[:1]), 0.0)


def _temporal(samples: np.ndarray, mono: np.ndarray, hop_energy: np.ndarray, hop: int, rate: int) -> dict[str, float]:
    hop_seconds = hop / rate
    duration = len(hop_energy) * hop_seconds
    silent = _silent_windows(hop_energy, 10)
    onset = _onset_envelope(samples, hop, hop_energy)
    tempo, stability = _tempo(*_spectral_flux(mono, rate))
    density = 0.0
    if onset.any():
        threshold = onset.mean() + 2.0 * onset.std()
        from scipy.signal import find_peaks

        peaks, _ = find_peaks(onset, height=max(threshold, 0.3), distance=max(1, round(0.05 / hop_seconds)))
        density = len(peaks) / duration if duration > 0 else 0.0
    return {
        "tempo_bpm": tempo,
        "rhythm_stability": stability,
        "transient_density": float(density),
        "silence_ratio": float(silent.mean()) if len(silent) else 1.0,
    }


def _silent_windows(hop_energy: np.ndarray, hops_per_window: int) -> np.ndarray:
    count = max(1, len(hop_energy) // hops_per_window)
    usable = hop_energy[: count * hops_per_window]
    if len(usable) < hops_per_window:
        usable = np.pad(hop_energy, (0, hops_per_window - len(hop_energy)))
    windows = usable.reshape(count, -1).mean(axis=1)
    return windows < 10.0 ** (SILENCE_DBFS / 10.0)


def _spectral_flux(mono: np.ndarray, rate: int) -> tuple[np.ndarray, float]:
    """Onset strength for tempo: mean over 40 mel bands of the rise of log power between
    successive frames (the spectral flux of librosa's ``onset_strength``), every ~11.6 ms.

    The mono signal is first averaged down to ~11 kHz (a boxcar low-pass; onsets live below
    5 kHz), then cut into Hann frames of ~46 ms every ~11.6 ms. Log power is floored 80 dB below
    the loudest band value. Returns the envelope and its hop in seconds.
    """
    factor = max(1, round(rate / FLUX_RATE))
    usable = len(mono) // factor * factor
    x = mono[:usable].reshape(-1, factor).mean(axis=1, dtype=np.float32) if factor > 1 else mono
    low_rate = rate / factor
    length = _frame_length(FLUX_FRAME_SECONDS, round(low_rate))
    hop = length // 4
    if len(x) < length + hop:
        return np.zeros(1), hop / low_rate
    frames = sliding_window_view(x, length)[::hop]
    window = (0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(length) / length)).astype(np.float32)
    spectrum = np.fft.rfft(frames * window, axis=1)
    power = np.square(spectrum.real) + np.square(spectrum.imag)
    bands = power @ _mel_filters(length, low_rate)
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
    return (weights * (2.0 / (edges[2:] - edges[:-2]))[None, :]).astype(np.float32)


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


def _spectral(mono: np.ndarray, rate: int) -> dict[str, float]:
    """Centroid, rolloff (85 %) and flatness per Hann frame of the magnitude spectrum, averaged
    over frames louder than −60 dBFS (mean square of the frame)."""
    length = _frame_length(SPECTRAL_FRAME_SECONDS, rate)
    freqs, power = frame_spectra(mono, length, rate)
    magnitude = np.sqrt(power)
    totals = magnitude.sum(axis=1, dtype=np.float64)
    # mean square of a frame ≈ 2·Σ|Xₖ|² (one-sided) / (N·Σw²), with Σw² = 3N/8 for the Hann window
    mean_square = 2.0 * power.sum(axis=1, dtype=np.float64) / (length * 0.375 * length)
    loud = (mean_square > 10.0 ** (SILENCE_DBFS / 10.0)) & (totals > 0)
    if not loud.any():
        return {"spectral_centroid_hz": 0.0, "spectral_rolloff_hz": 0.0, "spectral_flatness": 0.0}
    magnitude, power, totals = magnitude[loud], power[loud], totals[loud]
    centroid = (magnitude @ freqs.astype(np.float32)) / totals
    cumulative = np.cumsum(magnitude, axis=1, dtype=np.float64)
    rolloff_bin = np.argmax(cumulative >= ROLLOFF_SHARE * totals[:, None], axis=1)
    floored = np.maximum(power, np.float32(FLATNESS_FLOOR))
    geometric = np.exp(np.log(floored).mean(axis=1, dtype=np.float64))
    flatness = geometric / floored.mean(axis=1, dtype=np.float64)
    return {
        "spectral_centroid_hz": float(centroid.mean()),
        "spectral_rolloff_hz": float(freqs[rolloff_bin].mean()),
        "spectral_flatness": float(flatness.mean()),
    }


def _chroma_matrix(freqs: np.ndarray) -> np.ndarray:
    """Bins in 55 Hz–5 kHz → nearest pitch class (A = 0), as a (bins × 12) 0/1 matrix."""
    matrix = np.zeros((len(freqs), 12), np.float32)
    inside = (freqs >= CHROMA_RANGE_HZ[0]) & (freqs <= CHROMA_RANGE_HZ[1])
    pitch_class = np.round(12.0 * np.log2(freqs[inside] / 440.0)).astype(int) % 12
    matrix[np.flatnonzero(inside), pitch_class] = 1.0
    return matrix


def _harmonic(power: np.ndarray, freqs: np.ndarray) -> dict[str, float]:
    frame_energy = power.sum(axis=1)
    active = frame_energy > frame_energy.max() * 1e-6 if frame_energy.max() > 0 else frame_energy > 0
    if not active.any():
        return {"harmonic_ratio": 0.0, "pitch_stability": 0.0, "chroma_energy": 0.0}
    low = int(np.searchsorted(freqs, HIGHPASS_HZ))
    top = int(np.searchsorted(freqs, CHROMA_RANGE_HZ[1], side="right"))
    active_power = power[active, low:top]
    chroma = active_power @ _chroma_matrix(freqs[low:top])
    chroma_total = chroma.sum(axis=1)
    tonal = chroma_total > 0
    chroma_energy = float((chroma[tonal].max(axis=1) / chroma_total[tonal]).mean()) if tonal.any() else 0.0
    norms = np.linalg.norm(chroma, axis=1)
    unit = chroma[tonal] / norms[tonal, None]
    stability = float(np.einsum("ij,ij->i", unit[1:], unit[:-1]).mean()) if len(unit) > 1 else 1.0 * tonal.any()
    return {
        "harmonic_ratio": _peak_energy_share(active_power),
        "pitch_stability": stability,
        "chroma_energy": chroma_energy,
    }


def _peak_energy_share(power: np.ndarray) -> float:
    """Share of energy (20 Hz–5 kHz) in spectral peaks ≥ 6 dB above the ±4-bin local mean.

    A peak counts with its two neighbours, which hold the Hann window's main lobe.
    """
    width = 9
    if power.shape[1] <= width + 1:
        return 0.0
    cumulative = np.cumsum(power, axis=1, dtype=np.float32)
    local = (cumulative[:, width:] - cumulative[:, :-width]) / width
    centre = power[:, width // 2 + 1 : -(width // 2)]
    left = power[:, width // 2 : -(width // 2) - 1]
    right = power[:, width // 2 + 2 :][:, : centre.shape[1]]
    peaks = (centre > left) & (centre >= right) & (centre > 4.0 * local[:, : centre.shape[1]])
    tonal = (centre * peaks).sum() + (left * peaks).sum() + (right * peaks).sum()
    total = power.sum(dtype=np.float64)
    return float(np.clip(tonal / total, 0.0, 1.0)) if total > 0 else 0.0


def _block_peaks(samples: np.ndarray, block: int) -> np.ndarray:
    """Largest |sample| over all channels in each complete block of ``block`` frames."""
    count = len(samples) // block
    if count == 0:
        return np.zeros(0)
    blocks = samples[: count * block].reshape(count, -1)
    return np.maximum(blocks.max(axis=1), -blocks.min(axis=1)).astype(np.float64)


def _variation(peaks, hop_energy, hops_per_second, segments) -> dict[str, float]:
    """Spread of per-second crest factor, of gated short-term loudness, and of per-second peaks."""
    short_term = loudness.short_term_from_segments(segments)
    gated = short_term[loudness.gate_mask(short_term, 10.0 ** ((short_term + 0.691) / 10.0), -20.0)]
    loudness_std = float(gated.std()) if len(gated) > 1 else 0.0
    count = len(peaks)
    mean_square = hop_energy[: count * hops_per_second].reshape(count, hops_per_second).mean(axis=1)
    loud = mean_square > 10.0 ** (SILENCE_DBFS / 10.0)
    if not loud.any():
        return {"dynamic_range_variation_db": 0.0, "loudness_variation_lu": loudness_std, "peak_consistency": 1.0}
    crest = 10.0 * np.log10(peaks[loud] ** 2 / mean_square[loud])
    return {
        "dynamic_range_variation_db": float(crest.std()),
        "loudness_variation_lu": loudness_std,
        "peak_consistency": float(np.median(peaks[loud]) / peaks[loud].max()),
    }


def _stereo(ll: float, rr: float, lr: float) -> dict[str, float]:
    if ll + rr <= 0:
        return {"stereo_width": 0.0, "phase_correlation": 1.0}
    width = (ll + rr - 2.0 * lr) / (2.0 * (ll + rr))
    correlation = lr / np.sqrt(ll * rr) if ll > 0 and rr > 0 else 0.0
    return {
        "stereo_width": float(np.clip(width, 0.0, 1.0)),
        "phase_correlation": float(np.clip(correlation, -1.0, 1.0)),
    }
