"""The 25-dimension audio fingerprint, computed on a whole track at its native rate.

Every value is in physical units (Hz, dB, LUFS, LU, BPM, seconds⁻¹) or a bounded ratio, and
every dimension is defined for silence and for very short files (no NaN, no infinity).
Spectral, stereo and loudness features come from one analysis pass: FFTs of consecutive 100 ms
rectangular segments of each channel (see :class:`SegmentSpectra`); temporal features from a
5 ms energy envelope. More than two channels are folded to stereo first (``audio.to_stereo``).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from itertools import pairwise

import numpy as np

from . import loudness
from .audio import to_stereo

FINGERPRINT_VERSION = 1

BAND_EDGES_HZ = (20.0, 60.0, 250.0, 500.0, 2000.0, 4000.0, 8000.0, 20000.0)
SILENCE_DBFS = -60.0  # windows quieter than this count as silence
ENVELOPE_HOP_SECONDS = 0.005  # temporal features work on a 5 ms energy envelope
TEMPO_RANGE_BPM = (50.0, 220.0)
TEMPO_PRIOR_CENTRE_BPM = 120.0  # log-normal prior (σ = 1 octave) resolves octave ambiguity
CHROMA_RANGE_HZ = (55.0, 5000.0)


@dataclass(frozen=True)
class Fingerprint:
    """25 numbers describing a recording (see module docstring for units)."""

    # frequency: energy share per band, sums to 1 (all 0 for silence)
    sub_bass: float  # 20–60 Hz
    bass: float  # 60–250 Hz
    low_mid: float  # 250–500 Hz
    mid: float  # 500–2000 Hz
    upper_mid: float  # 2–4 kHz
    presence: float  # 4–8 kHz
    air: float  # 8–20 kHz
    # dynamics
    lufs: float  # BS.1770-4 integrated loudness, LUFS (−70 for silence)
    crest_db: float  # 20·log10(sample peak / RMS)
    bass_mid_ratio_db: float  # 10·log10(E 60–250 Hz / E 500–2000 Hz), clamped ±60
    # temporal
    tempo_bpm: float  # onset-envelope autocorrelation, 50–220 BPM, 0 if no pulse
    rhythm_stability: float  # normalised autocorrelation at the tempo lag, 0–1
    transient_density: float  # onsets per second
    silence_ratio: float  # share of 50 ms windows below −60 dBFS
    # spectral (long-term spectrum)
    spectral_centroid_hz: float  # Σ f·P / Σ P
    spectral_rolloff_hz: float  # frequency below which 85 % of the energy lies
    spectral_flatness: float  # mean over frames of geometric / arithmetic mean power, 0–1
    # harmonic
    harmonic_ratio: float  # share of energy below 5 kHz in prominent spectral peaks, 0–1
    pitch_stability: float  # mean cosine similarity of consecutive chroma vectors, 0–1
    chroma_energy: float  # mean share of the dominant pitch class, 1/12–1
    # variation
    dynamic_range_variation_db: float  # std of per-second crest factor, dB
    loudness_variation_lu: float  # std of gated short-term (3 s) loudness, LU
    peak_consistency: float  # median / max of per-second peaks, 0–1
    # stereo
    stereo_width: float  # side energy / (mid + side energy): 0 mono, 0.5 uncorrelated, 1 inverted
    phase_correlation: float  # Σ L·R / √(Σ L² · Σ R²): 1 mono, −1 inverted

    def as_dict(self) -> dict[str, float]:
        return asdict(self)

    def as_vector(self) -> np.ndarray:
        return np.array([getattr(self, name) for name in FEATURE_NAMES])

    @classmethod
    def from_dict(cls, values: dict[str, float]) -> Fingerprint:
        return cls(**{name: float(values[name]) for name in FEATURE_NAMES})


FEATURE_NAMES: tuple[str, ...] = tuple(f.name for f in fields(Fingerprint))

#: The values a feature can take at all (from the definitions above); the rest are unbounded.
_UNIT = ("sub_bass", "bass", "low_mid", "mid", "upper_mid", "presence", "air", "rhythm_stability", "silence_ratio",
         "spectral_flatness", "harmonic_ratio", "pitch_stability", "chroma_energy", "peak_consistency", "stereo_width")
FEATURE_LIMITS: dict[str, tuple[float, float]] = {
    **dict.fromkeys(_UNIT, (0.0, 1.0)),
    "phase_correlation": (-1.0, 1.0),
    "bass_mid_ratio_db": (-60.0, 60.0),
    "crest_db": (0.0, math.inf),
    "tempo_bpm": (0.0, 220.0),
    "transient_density": (0.0, math.inf),
    "spectral_centroid_hz": (0.0, math.inf),
    "spectral_rolloff_hz": (0.0, math.inf),
    "dynamic_range_variation_db": (0.0, math.inf),
    "loudness_variation_lu": (0.0, math.inf),
}  # fmt: skip


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
    spectra = segment_spectra(samples, rate)
    hop = max(1, round(rate * ENVELOPE_HOP_SECONDS))
    hop_energy = _hop_energy(samples, hop)
    per_second = max(1, round(rate / hop)) * hop
    second_peaks = _block_peaks(samples, per_second)
    peak = max(
        float(second_peaks.max(initial=0.0)),
        float(_block_peaks(samples[len(second_peaks) * per_second :], 1).max(initial=0.0)),
    )
    spectrum = spectra.mono.sum(axis=0, dtype=np.float64)
    values = {
        **_bands(spectrum, spectra.freqs),
        **_dynamics(peak, len(samples), spectrum, spectra),
        **_temporal(samples, hop_energy, hop, rate),
        **_spectral(spectra.mono, spectrum, spectra.freqs),
        **_harmonic(spectra.mono, spectra.freqs),
        **_variation(second_peaks, hop_energy, per_second // hop, spectra.loudness),
        **_stereo(*spectra.channel_products),
    }
    return Fingerprint(**values)


@dataclass(frozen=True)
class SegmentSpectra:
    """Spectra of consecutive 100 ms rectangular segments — the fingerprint's one analysis pass.

    ``mono`` is the power spectrum of the channel average per segment; ``loudness`` holds the
    BS.1770 channel-weighted K-weighted energy of each segment, obtained by Parseval's theorem
    (Σ y² = Σₖ wₖ·|Xₖ|²·|K(fₖ)|² / N) instead of a second time-domain filter pass; the gating is
    ``engine.loudness``'s own. ``channel_products`` are Σ L², Σ R², Σ L·R, exact by Parseval.
    """

    freqs: np.ndarray
    mono: np.ndarray
    loudness: loudness.SegmentPower
    channel_products: tuple[float, float, float]


def segment_spectra(samples: np.ndarray, rate: int) -> SegmentSpectra:
    """Rectangular-window FFTs of consecutive 100 ms segments of every channel (10 Hz bins)."""
    length = max(2, round(rate * loudness.SEGMENT_SECONDS))
    count = max(1, len(samples) // length)
    if len(samples) < count * length:  # shorter than one segment: zero-pad it
        samples = np.concatenate([samples, np.zeros((count * length - len(samples), samples.shape[1]), np.float32)])
    freqs = np.fft.rfftfreq(length, 1.0 / rate)
    parseval = np.full(len(freqs), 2.0 / length)  # one-sided spectrum: DC and Nyquist count once
    parseval[0] = 1.0 / length
    if length % 2 == 0:
        parseval[-1] = 1.0 / length
    # both weightings at once, applied to interleaved re², im² (one matmul per channel)
    weights = np.stack([parseval * loudness.k_weighting_power_response(freqs, rate), parseval], axis=1)
    weights = np.repeat(weights, 2, axis=0).astype(np.float32)
    from scipy import fft as sfft  # scipy is imported on use: `import engine.fingerprint` stays light

    gains = loudness.channel_weights(samples.shape[1])
    total_spectrum = None
    k_energy = np.zeros(count)
    energies = []
    for ch in range(samples.shape[1]):
        spectrum = sfft.rfft(samples[: count * length, ch].reshape(count, length), axis=1, workers=1)
        parts = spectrum.view(np.float32)
        per_segment = np.concatenate(  # (count, 2): K-weighted and plain energy; chunks stay in cache
            [np.square(parts[i : i + 128]) @ weights for i in range(0, count, 128)]
        )
        k_energy += gains[ch] * per_segment[:, 0]
        energies.append(float(per_segment[:, 1].sum(dtype=np.float64)))
        total_spectrum = spectrum if total_spectrum is None else np.add(total_spectrum, spectrum, out=total_spectrum)
    mono = total_spectrum.real**2
    mono += total_spectrum.imag**2
    mono *= np.float32(1.0 / samples.shape[1] ** 2)
    segments = loudness.SegmentPower(k_energy, np.full(count, float(length)))
    return SegmentSpectra(freqs, mono, segments, _products(energies, mono, parseval))


def _products(energies: list[float], mono: np.ndarray, parseval: np.ndarray) -> tuple[float, float, float]:
    """Σ L², Σ R², Σ L·R from channel energies and the mono power ((L+R)/2)² (mono: L = R)."""
    if len(energies) == 1:
        return energies[0], energies[0], energies[0]
    mono_energy = float(mono.sum(axis=0, dtype=np.float64) @ parseval)
    left, right = energies[0], energies[1]
    return left, right, (4.0 * mono_energy - left - right) / 2.0


def _hop_energy(samples: np.ndarray, hop: int) -> np.ndarray:
    """Mean square over all channels in consecutive hops of ``hop`` frames."""
    count = len(samples) // hop
    if count == 0:
        return np.zeros(1)
    blocks = samples[: count * hop].reshape(count, -1)
    return np.einsum("ij,ij->i", blocks, blocks, dtype=np.float64) / blocks.shape[1]


def _bands(spectrum: np.ndarray, freqs: np.ndarray) -> dict[str, float]:
    names = ("sub_bass", "bass", "low_mid", "mid", "upper_mid", "presence", "air")
    energy = np.array([spectrum[(freqs >= lo) & (freqs < hi)].sum() for lo, hi in pairwise(BAND_EDGES_HZ)])
    total = energy.sum()
    shares = energy / total if total > 0 else np.zeros_like(energy)
    return {name: float(share) for name, share in zip(names, shares, strict=True)}


def _dynamics(peak: float, frames: int, spectrum: np.ndarray, spectra: SegmentSpectra) -> dict[str, float]:
    left, right, _ = spectra.channel_products
    mean_square = (left + right) / (2.0 * max(frames, 1))
    crest = _db(peak * peak / mean_square, 0.0) if mean_square > 0 else 0.0
    freqs = spectra.freqs
    bass = spectrum[(freqs >= 60) & (freqs < 250)].sum()
    mid = spectrum[(freqs >= 500) & (freqs < 2000)].sum()
    return {
        "lufs": loudness.integrated_from_segments(spectra.loudness),
        "crest_db": crest,
        "bass_mid_ratio_db": _ratio_db(bass, mid),
    }


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


def _temporal(samples: np.ndarray, hop_energy: np.ndarray, hop: int, rate: int) -> dict[str, float]:
    hop_seconds = hop / rate
    duration = len(hop_energy) * hop_seconds
    silent = _silent_windows(hop_energy, 10)
    onset = _onset_envelope(samples, hop, hop_energy)
    tempo, stability = _tempo(onset, hop_seconds)
    density = 0.0
    if onset.any():
        threshold = onset.mean() + 2.0 * onset.std()
        from scipy.signal import find_peaks  # scipy.signal is imported on use: it takes ~0.8 s to import

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


def _tempo(onset: np.ndarray, hop_seconds: float) -> tuple[float, float]:
    """Tempo from the autocorrelation of the onset envelope.

    Candidate lags span 50–220 BPM; each autocorrelation peak is weighted by a log-normal
    prior centred on 120 BPM (σ = 1 octave), which picks 120 over its sub-multiple 60 on a
    120 BPM click instead of halving it. The winning lag is refined by parabolic interpolation.
    """
    centred = onset - onset.mean()
    n = len(centred)
    min_lag = int(np.floor(60.0 / TEMPO_RANGE_BPM[1] / hop_seconds))
    max_lag = int(np.ceil(60.0 / TEMPO_RANGE_BPM[0] / hop_seconds))
    if n < 2 * max_lag or not centred.any():
        return 0.0, 0.0
    from scipy import fft as sfft

    size = sfft.next_fast_len(2 * n, real=True)  # zero-padded: linear, not circular, correlation
    spectrum = sfft.rfft(centred, size)
    acf = sfft.irfft(spectrum.real**2 + spectrum.imag**2, size)[:n]
    acf = acf / np.arange(n, 0, -1)  # unbiased: each lag averages over its overlap
    if acf[0] <= 0:
        return 0.0, 0.0
    acf = acf / acf[0]
    lags = np.arange(min_lag, min(max_lag + 1, n - 1))
    is_peak = (acf[lags] > acf[lags - 1]) & (acf[lags] >= acf[lags + 1]) & (acf[lags] > 0)
    if not is_peak.any():
        return 0.0, 0.0
    peak_lags = lags[is_peak]
    bpm = 60.0 / (peak_lags * hop_seconds)
    prior = np.exp(-0.5 * np.log2(bpm / TEMPO_PRIOR_CENTRE_BPM) ** 2)
    best = int(peak_lags[np.argmax(acf[peak_lags] * prior)])
    left, centre, right = acf[best - 1], acf[best], acf[best + 1]
    curvature = left - 2 * centre + right
    shift = 0.5 * (left - right) / curvature if curvature < 0 else 0.0
    return float(60.0 / ((best + shift) * hop_seconds)), float(np.clip(centre, 0.0, 1.0))


def _spectral(power: np.ndarray, spectrum: np.ndarray, freqs: np.ndarray) -> dict[str, float]:
    total = spectrum.sum()
    if total <= 0:
        return {"spectral_centroid_hz": 0.0, "spectral_rolloff_hz": 0.0, "spectral_flatness": 0.0}
    centroid = float((freqs * spectrum).sum() / total)
    rolloff = float(freqs[min(np.searchsorted(np.cumsum(spectrum), 0.85 * total), len(freqs) - 1)])
    band = power[:, np.searchsorted(freqs, 20.0) : np.searchsorted(freqs, 20000.0, side="right")]
    arithmetic = band.mean(axis=1, dtype=np.float64)
    active = arithmetic > arithmetic.max() * 1e-6
    geometric = np.exp(np.log(band + np.float32(1e-12)).mean(axis=1, dtype=np.float64))
    flatness = float(np.mean(geometric[active] / arithmetic[active]))
    return {"spectral_centroid_hz": centroid, "spectral_rolloff_hz": rolloff, "spectral_flatness": flatness}


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
    top = int(np.searchsorted(freqs, CHROMA_RANGE_HZ[1], side="right"))
    active_power = power[:, :top] if active.all() else power[active, :top]
    chroma = active_power @ _chroma_matrix(freqs[:top])
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
    """Share of energy (up to 5 kHz) in spectral peaks ≥ 6 dB above the ±4-bin local mean.

    A peak counts with its two neighbours, which hold the window's main lobe.
    """
    width = 9
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
