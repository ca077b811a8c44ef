"""ITU-R BS.1770-4 loudness: K-weighting, gated integrated loudness, short-term loudness, true peak.

Integrated loudness (BS.1770-4 §2): each channel is K-weighted (a high shelf, then the RLB
high-pass), squared and averaged over 400 ms blocks with 75 % overlap. A block's loudness is
``−0.691 + 10·log10(Σ Gᵢ·zᵢ)``. Blocks below −70 LUFS are dropped (absolute gate); the
mean of the rest, −10 LU, is the relative gate; the integrated loudness is the loudness of the
mean power of the blocks that pass both gates.

The K-weighting filters are designed for the actual sample rate from their analog prototypes
(shelf: f0 ≈ 1681.97 Hz, +4.0 dB, Q ≈ 0.7072; high-pass: f0 ≈ 38.135 Hz, Q ≈ 0.5003). These
parameters reproduce the 48 kHz coefficients tabulated in BS.1770-4 (Tables 1 and 2) to ten
digits; they were derived by Brecht De Man and popularised by pyloudnorm.

Loudness below the absolute gate (silence) is reported as :data:`FLOOR_LUFS`, never −inf/NaN.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

FLOOR_LUFS = -70.0
ABSOLUTE_GATE_LUFS = -70.0
RELATIVE_GATE_LU = -10.0
SEGMENT_SECONDS = 0.1  # block step: 400 ms blocks at 75 % overlap advance by 100 ms
BLOCK_SEGMENTS = 4  # 400 ms momentary block
SHORT_TERM_SEGMENTS = 30  # 3 s short-term window
_OFFSET = -0.691
MONO_ON_TWO_SPEAKERS_LU = 10.0 * float(np.log10(2.0))

_SHELF_F0, _SHELF_GAIN_DB, _SHELF_Q = 1681.974450955533, 3.999843853973347, 0.7071752369554196
_HIGHPASS_F0, _HIGHPASS_Q = 38.13547087602444, 0.5003270373238773


def k_weighting_sos(rate: float) -> np.ndarray:
    """Second-order sections (2×6) of the BS.1770 K-weighting filter at ``rate`` Hz.

    Both stages are bilinear transforms of their analog prototypes with pre-warping
    ``K = tan(π·f0/fs)``.
    """
    k = np.tan(np.pi * _SHELF_F0 / rate)
    vh = 10.0 ** (_SHELF_GAIN_DB / 20.0)
    vb = vh**0.4996667741545416
    a0 = 1.0 + k / _SHELF_Q + k * k
    shelf = [
        (vh + vb * k / _SHELF_Q + k * k) / a0,
        2.0 * (k * k - vh) / a0,
        (vh - vb * k / _SHELF_Q + k * k) / a0,
        1.0,
        2.0 * (k * k - 1.0) / a0,
        (1.0 - k / _SHELF_Q + k * k) / a0,
    ]
    k = np.tan(np.pi * _HIGHPASS_F0 / rate)
    a0 = 1.0 + k / _HIGHPASS_Q + k * k
    highpass = [1.0, -2.0, 1.0, 1.0, 2.0 * (k * k - 1.0) / a0, (1.0 - k / _HIGHPASS_Q + k * k) / a0]
    return np.array([shelf, highpass])


def k_weighting_power_response(freqs: np.ndarray, rate: int) -> np.ndarray:
    """|K(e^jω)|² of :func:`k_weighting_sos` at ``freqs`` (Hz) — the same filter, as a power gain."""
    from scipy.signal import sosfreqz  # scipy.signal is imported on use: it takes ~0.8 s to import

    _, response = sosfreqz(k_weighting_sos(rate), worN=np.asarray(freqs, dtype=np.float64), fs=rate)
    return np.abs(response) ** 2


def channel_weights(channels: int) -> np.ndarray:
    """BS.1770 channel weights Gᵢ in WAV order: 1.0 for L, R, C; 1.41 for surrounds; LFE 0."""
    weights = np.ones(channels)
    if channels >= 5:
        weights[-2:] = 1.41
    if channels >= 6:
        weights[3] = 0.0
    return weights


@dataclass(frozen=True)
class SegmentPower:
    """Channel-weighted K-filtered energy per 100 ms segment: ``sums[i] / counts[i]`` is z."""

    sums: np.ndarray
    counts: np.ndarray


def segment_power(samples: np.ndarray, rate: int) -> SegmentPower:
    """K-weight ``samples`` (frames × channels) and sum Σ Gᵢ·yᵢ² over consecutive 100 ms segments.

    Segment edges are rounded to whole samples, so rates such as 11025 Hz stay exact to ±1
    sample. A trailing partial segment is dropped (BS.1770 uses complete blocks only).
    """
    frames, channels = samples.shape
    edges = np.round(np.arange(0, frames / rate + 1e-9, SEGMENT_SECONDS) * rate).astype(np.int64)
    edges = edges[edges <= frames]
    if len(edges) < 2:
        return SegmentPower(np.zeros(0), np.zeros(0))
    from scipy.signal import sosfilt

    sos = k_weighting_sos(rate).astype(np.float32)  # float32 filtering: 30 % faster, < 0.001 LU apart
    weights = channel_weights(channels)
    sums = np.zeros(len(edges) - 1)
    for ch in range(channels):
        if weights[ch] != 0.0:
            filtered = sosfilt(sos, np.ascontiguousarray(samples[: edges[-1], ch], dtype=np.float32))
            sums += weights[ch] * _sums_of_squares(filtered, edges)
    return SegmentPower(sums, np.diff(edges).astype(np.float64))


def _sums_of_squares(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Σ values² between consecutive ``edges`` (fast path when all segments are equal)."""
    length = int(edges[1] - edges[0])
    if len(values) == length * (len(edges) - 1) and np.all(np.diff(edges) == length):
        blocks = values.reshape(-1, length)
        return np.einsum("ij,ij->i", blocks, blocks, dtype=np.float64)
    return np.add.reduceat(np.square(values, dtype=np.float64), edges[:-1])


def _window_power(segments: SegmentPower, width: int) -> np.ndarray:
    """Mean power of every window of ``width`` consecutive segments, stepping one segment."""
    if len(segments.sums) < width:
        return np.zeros(0)
    sums = sliding_window_view(segments.sums, width).sum(axis=1)
    counts = sliding_window_view(segments.counts, width).sum(axis=1)
    return sums / counts


def power_to_lufs(power: np.ndarray | float) -> np.ndarray:
    """``−0.691 + 10·log10(power)``, floored at :data:`FLOOR_LUFS`."""
    with np.errstate(divide="ignore"):
        lufs = _OFFSET + 10.0 * np.log10(np.asarray(power, dtype=np.float64))
    return np.maximum(lufs, FLOOR_LUFS)


def gate_mask(values_lufs: np.ndarray, power: np.ndarray, relative_gate: float) -> np.ndarray:
    """Windows passing the absolute gate (−70 LUFS) and a gate ``relative_gate`` LU below the
    loudness of their mean power (−10 LU for BS.1770 integration, −20 LU for EBU loudness range)."""
    above = values_lufs > ABSOLUTE_GATE_LUFS
    if not above.any():
        return above
    threshold = float(power_to_lufs(power[above].mean())) + relative_gate
    return above & (values_lufs > threshold)


def integrated_from_segments(segments: SegmentPower) -> float:
    """Gated integrated loudness (LUFS) from :func:`segment_power` output."""
    power = _window_power(segments, BLOCK_SEGMENTS)
    if len(power) == 0:
        return FLOOR_LUFS
    block_lufs = power_to_lufs(power)
    passed = gate_mask(block_lufs, power, RELATIVE_GATE_LU)
    if not passed.any():
        return FLOOR_LUFS
    return float(power_to_lufs(power[passed].mean()))


def short_term_from_segments(segments: SegmentPower) -> np.ndarray:
    """Short-term loudness (3 s windows, 100 ms step) in LUFS, floored at −70."""
    return power_to_lufs(_window_power(segments, SHORT_TERM_SEGMENTS))


def integrated_loudness(samples: np.ndarray, rate: int) -> float:
    """BS.1770-4 integrated loudness of ``samples`` (frames × channels) in LUFS."""
    return integrated_from_segments(segment_power(_as_2d(samples), rate))


def playback_loudness(samples: np.ndarray, rate: int) -> float:
    """Integrated loudness as heard on a stereo pair, in LUFS.

    BS.1770 counts a mono file's one channel once, yet a player sends it to both speakers:
    heard there it is as loud as its stereo duplicate, 10·log10(2) = 3.01 LU above the
    one-channel figure. Mono is therefore measured as two identical channels; files with
    two or more channels are measured as they are.
    """
    samples = _as_2d(samples)
    value = integrated_loudness(samples, rate)
    if samples.shape[1] == 1 and value > FLOOR_LUFS:
        value += MONO_ON_TWO_SPEAKERS_LU
    return value


def short_term_loudness(samples: np.ndarray, rate: int) -> np.ndarray:
    """EBU short-term loudness (3 s window) every 100 ms, in LUFS."""
    return short_term_from_segments(segment_power(_as_2d(samples), rate))


def _as_2d(samples: np.ndarray) -> np.ndarray:
    return samples[:, None] if samples.ndim == 1 else samples


# --- true peak ---------------------------------------------------------------------------

TAPS_PER_PHASE = 64
_KAISER_BETA = 8.0
_CHUNK = 16384
OVERSAMPLED_RATE = 352800  # 8× at 44.1 kHz, 16× at 22.05 kHz


def oversampling_factor(rate: int) -> int:
    """Factor that brings the rate to at least 352.8 kHz (8× at 44.1/48 kHz, 16× at 22.05 kHz).

    BS.1770-4 Annex 2 asks for at least 4× at 48 kHz, where a tone near Nyquist can read up to
    0.7 dB low between the grid points; on an 8× grid the worst case up to 0.45·fs is 0.14 dB.
    """
    return max(1, int(np.ceil(OVERSAMPLED_RATE / rate - 1e-9)))


def interpolation_phases(factor: int) -> np.ndarray:
    """Polyphase interpolator, shape ``(64, factor)``.

    Column ``p`` holds the taps that compute the band-limited value at ``n + p/factor`` from
    ``x[n−31] … x[n+32]``: a sinc at the original Nyquist under a Kaiser window (β = 8)
    spanning ±32 samples, each phase normalised to unity DC gain (phase 0 returns ``x[n]``
    exactly). Every phase is within 0.002 dB (complex error < 2·10⁻⁴) of the ideal
    fractional delay up to 0.45·fs and −0.2 dB at 0.47·fs; the 12-tap interpolator it replaces
    was −5 dB at 0.45·fs. (48 taps were −0.2 dB at 0.46·fs, which a 48 kHz resample of a
    44.1 kHz master reaches: 0.18 dB over the ceiling at 16×.)
    """
    half = TAPS_PER_PHASE // 2
    offsets = (half - 1) - np.arange(TAPS_PER_PHASE)[:, None] + np.arange(factor)[None, :] / factor
    window = np.i0(_KAISER_BETA * np.sqrt(np.clip(1.0 - (offsets / half) ** 2, 0.0, None))) / np.i0(_KAISER_BETA)
    phases = np.sinc(offsets) * window
    return (phases / phases.sum(axis=0, keepdims=True)).astype(np.float32)


def true_peak_envelope(channel: np.ndarray, factor: int, threshold: float = 0.0) -> np.ndarray:
    """Per-sample magnitude of the oversampled signal: the max of |x[n]| and the interpolated
    values between x[n] and x[n+1]. Samples outside the signal are taken as zero.

    Only stretches that can reach ``threshold`` are interpolated: an interpolated value is at
    most ``Σ|h|`` times the largest sample in its window, so quieter stretches keep |x[n]| (a
    lower bound that is itself below the threshold). ``threshold = 0`` interpolates everywhere.
    """
    x = np.asarray(channel, dtype=np.float32)
    envelope = np.abs(x)
    if factor == 1 or len(x) == 0:
        return envelope
    phases = interpolation_phases(factor)[:, 1:]
    phases_t = np.ascontiguousarray(phases.T)
    half = TAPS_PER_PHASE // 2
    padded = np.concatenate([np.zeros(half - 1, np.float32), x, np.zeros(half, np.float32)])
    windows = sliding_window_view(padded, TAPS_PER_PHASE)
    if threshold > 0.0:
        reach = float(np.abs(phases).sum(axis=0).max())
        runs = _loud_runs(envelope, threshold / reach)
    else:
        runs = [(0, len(x))]
    for run_start, run_stop in runs:
        for start in range(run_start, run_stop, _CHUNK):
            stop = min(start + _CHUNK, run_stop)
            block = np.ascontiguousarray(windows[start:stop])  # contiguous, so the product runs in BLAS
            interpolated = phases_t @ block.T  # (phases, samples): reducing over rows is fast
            np.abs(interpolated, out=interpolated)
            peak = envelope[start:stop]
            np.maximum(peak, interpolated.max(axis=0), out=peak)
    return envelope


def _loud_runs(magnitude: np.ndarray, level: float, block: int = 64) -> list[tuple[int, int]]:
    """Sample ranges covering every block whose peak reaches ``level``, plus its neighbours.

    A block of 64 samples is at least as wide as the ±32-sample interpolation window, so every window
    holding a sample ≥ ``level`` lies inside a returned range.
    """
    starts = np.arange(0, len(magnitude), block)
    loud = np.maximum.reduceat(magnitude, starts) >= level
    if not loud.any():
        return []
    loud[1:] |= loud[:-1].copy()
    loud[:-1] |= loud[1:].copy()
    edges = np.flatnonzero(np.diff(np.concatenate([[0], loud.astype(np.int8), [0]])))
    return [(int(a) * block, min(int(b) * block, len(magnitude))) for a, b in edges.reshape(-1, 2)]


def true_peak(samples: np.ndarray, rate: int) -> float:
    """Maximum true peak over all channels in dBTP (see :func:`oversampling_factor`); silence → −200 dBTP."""
    samples = _as_2d(samples)
    if samples.size == 0:
        return amplitude_to_db(0.0)
    factor = oversampling_factor(rate)
    sample_peak = max(float(samples.max()), -float(samples.min()))
    peak = sample_peak
    for ch in range(samples.shape[1]):
        if sample_peak > 0:
            peak = max(peak, float(true_peak_envelope(samples[:, ch], factor, sample_peak).max()))
    return amplitude_to_db(peak)


def amplitude_to_db(amplitude: float) -> float:
    """20·log10(amplitude), with −200 dB for zero."""
    return 20.0 * float(np.log10(amplitude)) if amplitude > 1e-10 else -200.0
