"""The 25-dimension audio fingerprint, computed on a whole track at its native rate.

Every value is in physical units (Hz, dB, LUFS, LU, BPM, seconds⁻¹) or a bounded ratio, and
every dimension is defined for silence and for very short files (no NaN, no infinity).
More than two channels are folded to stereo first (``audio.to_stereo``).

One pass cuts the track into 100 ms segments (the BS.1770 segment; ``round(rate / 10)``
samples) and takes the FFT of each segment of the mid (L+R)/2 and side (L−R)/2 signals. From
those spectra come, without a time-domain filter:

* loudness (``lufs``, ``loudness_variation_lu``): the meter's exact K-weighted segment energies
  (``engine.loudness.KWeightedEnergy``; L² + R² = 2·(mid² + side²));
* DC removal: each segment's mean is its FFT's bin 0, so a DC offset (or drift slower than the
  segment) is dropped by zeroing that bin; energies, the stereo sums and the spectral features
  are those of the signal minus its segment means, peaks those of each channel minus its mean;
* centroid, rolloff and flatness, their usual definitions: per 100 ms Hann-windowed frame (the
  Hann spectrum is the rectangular one convolved with (−¼, ½, −¼)) of the *magnitude* spectrum
  of the mono downmix, averaged over frames louder than −60 dBFS.

Band shares, ``bass_mid_ratio_db`` and the harmonic features come from Hann-windowed frames of
the mono downmix of about 0.74 s (32768 samples at 44.1 kHz: 1.35 Hz bins, so the 60 Hz edge
between sub-bass and bass is resolved to within a few hertz; a constant offset lands only in
bins 0 and 1 of a Hann spectrum). Tempo and rhythm stability come from the mel spectral flux of
the mono downmix (librosa's onset strength: the standard onset function) through a
time-averaged tempogram (``engine.tempo``). numpy, and SciPy's compiled FFT alone (``engine.fft``):
``auralis fingerprint`` does not import ``scipy.fft``.

The passes take the signal as it grows (:func:`fingerprint_decoding`: while a thread decodes the
file, on the other core) and cut their work the same way however it arrives, so the values are
those of :func:`fingerprint` on the whole signal.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import pairwise

import numpy as np

from . import loudness, tempo
from .audio import BackgroundDecode, to_stereo
from .features import (  # noqa: F401 - re-exported: the data lives in the numpy-free engine.features
    BAND_NAMES,
    FEATURE_LIMITS,
    FEATURE_NAMES,
    FINGERPRINT_VERSION,
    Fingerprint,
)
from .fft import rfft_rows

LOWEST_HZ = 20.0  # band shares and harmonic features start here
BAND_EDGES_HZ = (20.0, 60.0, 250.0, 500.0, 2000.0, 4000.0, 8000.0, 20000.0)
SILENCE_DBFS = -60.0  # segments quieter than this count as silence
ONSET_HOP_SECONDS = 0.005  # transient density works on a 5 ms envelope
BAND_FRAME_SECONDS = 32768 / 44100  # frames of the band shares and harmonic features
ROLLOFF_SHARE = 0.85
FLATNESS_FLOOR = 1e-10  # power floor of the flatness (librosa's ``amin``)
CHROMA_RANGE_HZ = (55.0, 5000.0)
ONSET_MIN_GAP_SECONDS = 0.05  # two onsets closer than this count once


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
    length = loudness.segment_length(rate)
    if len(samples) < length:
        samples = np.concatenate([samples, np.zeros((length - len(samples), samples.shape[1]), np.float32)])
    return _Analysis(rate, samples.shape[1], len(samples)).finish(samples)


def fingerprint_decoding(decoding: BackgroundDecode) -> Fingerprint:
    """The fingerprint of a file being decoded, analysed while it decodes: every pass takes the
    decoded prefix as it grows, in this thread, while the decode runs in its own. The values
    equal :func:`fingerprint` of the decoded samples. Raises the decode's ``AudioError``.

    One analysis thread, not two: a second one (the frame passes beside the segment pass) was
    measured 3–12 % slower, its Python glue contending for the GIL with the first's."""
    header = decoding.info
    if header.channels > 2:
        return fingerprint(decoding.result().samples, header.rate)  # folded to stereo first
    analysis = _Analysis(header.rate, header.channels, header.frames)
    try:
        for prefix in decoding.progress():
            analysis.feed(prefix)
    finally:
        decoding.close()
    decoded = decoding.result()
    if decoded.frames < analysis.length:
        return fingerprint(decoded.samples, decoded.rate)  # padded to a segment first
    return analysis.finish(decoded.samples)


class _Analysis:
    """The fingerprint's passes over a signal that may still be growing: :meth:`feed` runs the
    segment pass and the frame passes (:class:`_Frames`) over what has arrived, :meth:`finish`
    over the rest and computes the values. Work is cut the same way however the signal arrives,
    so the values are too."""

    def __init__(self, rate: int, channels: int, frames: int) -> None:
        self.rate, self.length = rate, loudness.segment_length(rate)
        self.scanner = _Scanner(rate, channels)
        self.frames = _Frames(rate, channels, frames)

    def feed(self, samples: np.ndarray) -> None:
        """Analyse the new part of ``samples`` (a growing prefix): the whole batches of segments,
        and the frames, not seen yet."""
        while (self.scanner.done + loudness.SEGMENT_BATCH) * self.length <= len(samples):
            first = self.scanner.done * self.length
            self.scanner.add(samples[first : first + loudness.SEGMENT_BATCH * self.length])
        self.frames.feed(samples)

    def finish(self, samples: np.ndarray) -> Fingerprint:
        """The fingerprint of ``samples``, the whole signal (at least one segment long)."""
        length = self.length
        count = len(samples) // length
        while self.scanner.done < count:
            first = self.scanner.done * length
            self.scanner.add(samples[first : min(count * length, first + loudness.SEGMENT_BATCH * length)])
        scan = self.scanner.result(samples[: count * length])
        segments = loudness.SegmentPower(scan.k_energy, np.full(len(scan.k_energy), float(length)))
        lufs = loudness.integrated_from_segments(segments)
        if samples.shape[1] == 1 and lufs > loudness.FLOOR_LUFS:
            lufs += loudness.MONO_ON_TWO_SPEAKERS_LU  # heard on two speakers (loudness.playback_loudness)
        mean_square = float(scan.mean_square.mean())
        values = {
            **self.frames.finish(samples),
            "lufs": lufs,
            "crest_db": _db(scan.peaks.max() ** 2 / mean_square, 0.0) if mean_square > 0 else 0.0,
            "silence_ratio": float(np.mean(scan.mean_square < 10.0 ** (SILENCE_DBFS / 10.0))),
            **scan.spectral_means(),
            **_variation(scan.peaks, scan.mean_square, segments),
            **_stereo(*scan.stereo_sums),
        }
        return Fingerprint(**values)


class _Frames:
    """The passes on frames other than the segments, fed the decoded prefix as it grows: the mono
    downmix of the whole segments, its 0.74 s band frames (band shares, harmonic features) and its
    mel flux (tempo); the 5 ms onset hops of all channels (transient density)."""

    def __init__(self, rate: int, channels: int, frames: int) -> None:
        self.rate, self.length, self.channels = rate, loudness.segment_length(rate), channels
        self.mono = np.empty(frames // self.length * self.length, np.float32)  # grows if more arrives
        self.mono_done = 0
        self.bands = _BandFrames(_frame_length(BAND_FRAME_SECONDS, rate), rate)
        self.flux = tempo.MelFlux(rate)
        self.onsets = _OnsetEnergy(max(1, round(rate * ONSET_HOP_SECONDS)))

    def feed(self, samples: np.ndarray) -> None:
        """Analyse the new part of ``samples`` (float32 frames × 1 or 2 channels; a growing prefix)."""
        whole = len(samples) // self.length * self.length
        if whole > self.mono_done:
            if whole > len(self.mono):
                self.mono = np.concatenate([self.mono, np.empty(max(whole, len(self.mono)), np.float32)])
            new, part = samples[self.mono_done : whole], self.mono[self.mono_done : whole]
            if self.channels == 2:
                np.add(new[:, 0], new[:, 1], out=part)
                part *= np.float32(0.5)
            else:
                part[:] = new[:, 0]
            self.mono_done = whole
        self.bands.feed(self.mono[: self.mono_done])
        self.flux.feed(self.mono[: self.mono_done])
        self.onsets.feed(samples, (len(samples) - 1) // self.onsets.hop)

    def finish(self, samples: np.ndarray) -> dict[str, float]:
        """The frame passes' features of ``samples``, the whole signal."""
        self.feed(samples)
        mono = self.mono[: self.mono_done]
        tempo_bpm, stability = self.flux.result(mono)
        return {
            **self.bands.result(mono),
            "tempo_bpm": tempo_bpm,
            "rhythm_stability": stability,
            "transient_density": _transient_density(self.onsets.envelope(samples), len(samples) / self.rate, self.rate),
        }


@dataclass(frozen=True)
class _Scan:
    """What the one segment pass yields (one entry per 100 ms segment unless noted)."""

    k_energy: np.ndarray  # K-weighted Σ Gᵢ·yᵢ² (the meter's segment energies)
    mean_square: np.ndarray  # mean square over channels, segment means removed
    peaks: np.ndarray  # largest |sample − channel mean| over all channels
    frame_spectral: np.ndarray  # centroid, rolloff, flatness of each frame (segments × 3)
    loud: np.ndarray  # frames louder than −60 dBFS (mono)
    stereo_sums: tuple[float, float, float]  # Σ L², Σ R², Σ L·R, segment means removed

    def spectral_means(self) -> dict[str, float]:
        means = self.frame_spectral[self.loud].mean(axis=0, dtype=np.float64) if self.loud.any() else np.zeros(3)
        names = ("spectral_centroid_hz", "spectral_rolloff_hz", "spectral_flatness")
        return {name: float(value) for name, value in zip(names, means, strict=True)}


class _Scanner:
    """The segment pass, fed whole segments in order (:meth:`add`), read once at the end.

    Stereo is transformed as 2·mid = L+R and 2·side = L−R (no halving pass): the weights below
    carry the ¼ of their powers. The K-weighting's energies of L and R add up to those of 2·mid
    and 2·side halved (L² + R² = 2·(mid² + side²), sample by sample; for the state correction,
    a quadratic form, q(L) + q(R) = ½·(q(L+R) + q(L−R))), so its state projections are taken on
    2·mid and 2·side with √½ folded into the projection vectors (½ on the quadratic form).
    Everything runs in float32 (the values agree with float64 to ~10⁻⁶), the FFTs through
    :func:`engine.fft.rfft_rows`.
    """

    def __init__(self, rate: int, channels: int) -> None:
        self.length = loudness.segment_length(rate)
        self.channels, self.done = channels, 0
        self.frame = frame = self.length // 2 if self.length % 2 == 0 else self.length  # ~50 ms
        self.sums = np.zeros(2)  # Σ of the samples of 2·mid and 2·side (mono: of the signal), from bins 0
        self.k_weighted = loudness.KWeightedEnergy(rate, frame)
        self.freqs = np.fft.rfftfreq(frame, 1.0 / rate).astype(np.float32)
        parseval = np.full(len(self.freqs), 2.0 / frame)  # Σ(x − mean)² = Σₖ wₖ·|Xₖ|² over the rfft bins but 0
        parseval[0] = 0.0
        if frame % 2 == 0:
            parseval[-1] = 1.0 / frame
        scale = 0.25 if channels == 2 else 1.0  # |2·mid|² = 4·|mid|²
        k_scale = 2.0 * scale if channels == 2 else 1.0  # and L² + R² = 2·(mid² + side²)
        weights = np.stack([self.k_weighted.plan.weights * k_scale, parseval * scale], axis=1)
        self.weights = np.repeat(weights, 2, axis=0).astype(np.float32)  # for re² and im² of each bin (no |X|)
        root_half = math.sqrt(0.5) if channels == 2 else 1.0  # q(L) + q(R) = q(2·mid/√2) + q(2·side/√2)
        self.projections = (self.k_weighted.plan.projections * root_half).astype(np.float32)
        self.parts: dict[str, list[np.ndarray]] = {key: [] for key in ("mid", "side", "max", "min", "spectral")}
        self.cross = 0.0

    def add(self, block: np.ndarray) -> None:
        """Take the next whole segments (float32 frames × channels)."""
        frame = self.frame
        self.done += len(block) // self.length
        if self.channels == 2:
            signals = np.empty((2, len(block)), np.float32)  # 2·mid, 2·side
            np.add(block[:, 0], block[:, 1], out=signals[0])
            np.subtract(block[:, 0], block[:, 1], out=signals[1])
        else:
            signals = np.ascontiguousarray(block[:, 0])[None]
        signals = signals.reshape(len(signals), -1, frame)  # signal × frame × sample
        spectra = rfft_rows(signals)
        circular, energy = np.moveaxis(np.square(spectra.view(np.float32)) @ self.weights, 2, 0)
        self.parts["mid"].append(energy[0])  # Σ (mid − frame mean)²
        first_bins = spectra[:, :, 0].real.astype(np.float64)  # bin 0 is N × the frame's mean
        self.sums[: len(first_bins)] += first_bins.sum(axis=1)
        means = first_bins / frame
        spectra[:, :, 0] = 0.0  # DC removed
        scale = 2.0 if self.channels == 2 else 1.0  # 2·mid
        self.parts["spectral"].append(_frame_spectral(spectra[0], self.freqs, frame, scale))
        if self.channels == 2:
            self.parts["side"].append(energy[1])
            products = np.einsum("ij,ij->i", signals[0], signals[1]).astype(np.float64)
            self.cross += 0.25 * float(products.sum() - frame * np.dot(means[0], means[1]))
        self.k_weighted.add_parts(circular.sum(axis=0), np.matmul(signals, self.projections).transpose(1, 0, 2))
        interleaved = block.reshape(-1, self.length * self.channels)
        self.parts["max"].append(interleaved.max(axis=1))
        self.parts["min"].append(interleaved.min(axis=1))

    def result(self, whole: np.ndarray) -> _Scan:
        """The pass's results, given the ``whole`` segments it was fed (for the peaks)."""
        per = self.length // self.frame
        frame_energy = np.concatenate(self.parts["mid"])
        loud = frame_energy / self.frame > 10.0 ** (SILENCE_DBFS / 10.0)
        mid_energy = _per_segment(frame_energy, per)
        k_energy = _per_segment(self.k_weighted.energies(), per)
        if self.channels == 2:
            side_energy = _per_segment(np.concatenate(self.parts["side"]), per)
            mean_square = (mid_energy + side_energy) / self.length
            m, s = float(mid_energy.sum()), float(side_energy.sum())
            stereo_sums = (m + s + 2.0 * self.cross, m + s - 2.0 * self.cross, m - s)
        else:
            mean_square = mid_energy / self.length
            stereo_sums = (float(mid_energy.sum()),) * 3
        return _Scan(
            k_energy=k_energy,
            mean_square=mean_square,
            peaks=_peaks(
                whole,
                self.channel_means(len(whole)),
                np.concatenate(self.parts["max"]),
                np.concatenate(self.parts["min"]),
            ),
            frame_spectral=np.concatenate(self.parts["spectral"]),
            loud=loud,
            stereo_sums=stereo_sums,
        )

    def channel_means(self, frames: int) -> np.ndarray:
        """The mean of each channel over the ``frames`` fed, from the sums of 2·mid and 2·side."""
        if self.channels == 1:
            return self.sums[:1] / max(1, frames)
        mid, side = self.sums
        return np.array([mid + side, mid - side]) / (2.0 * max(1, frames))


def _per_segment(values: np.ndarray, frames: int) -> np.ndarray:
    """Sums of ``frames`` consecutive values (the frames of one segment)."""
    return values.reshape(-1, frames).sum(axis=1) if frames > 1 else values


def _peaks(samples: np.ndarray, means: np.ndarray, highest: np.ndarray, lowest: np.ndarray) -> np.ndarray:
    """Largest |sample − its channel's mean| of each segment, from each segment's extremes over all
    channels and the channel ``means``. A constant offset is removed exactly when the channels
    share it (to within 10⁻⁴ of the peak: ≤ 0.001 dB); channels with different offsets are
    centred one by one."""
    common = float(means.mean())
    peaks = np.maximum(highest - common, common - lowest).astype(np.float64)
    if np.ptp(means) <= 1e-4 * max(float(peaks.max(initial=0.0)), 1e-9):
        return peaks
    centred = (samples - means.astype(np.float32)).reshape(len(highest), -1)
    return np.maximum(centred.max(axis=1), -centred.min(axis=1)).astype(np.float64)


def _hann(spectrum: np.ndarray, length: int) -> np.ndarray:
    """4·Y, Y the periodic-Hann-windowed spectrum of each frame from its rectangular rfft X:
    Yₖ = ½Xₖ − ¼(Xₖ₋₁ + Xₖ₊₁), with X₋₁ = conj(X₁) and, past the last bin, the mirrored bin of
    a real signal (X_N−bins: the last bin for odd N, the one before it for even N).

    Computed on the interleaved float view (a bin is two floats), ~10× faster than complex slices;
    the factor 4 saves a pass (the features are ratios). Keeps the spectrum's precision.
    """
    flat = spectrum.view(spectrum.real.dtype)
    out = 2.0 * flat
    out[:, 2:] -= flat[:, :-2]
    out[:, :-2] -= flat[:, 2:]
    hann = out.view(spectrum.dtype)
    hann[:, 0] -= np.conj(spectrum[:, 1])
    hann[:, -1] -= np.conj(spectrum[:, length - spectrum.shape[1]])
    return hann


ROLLOFF_BLOCK = 32  # bins summed together before the rolloff's cumulative sum


def _frame_spectral(spectrum: np.ndarray, freqs: np.ndarray, length: int, scale: float = 1.0) -> np.ndarray:
    """Centroid Σf|Y|/Σ|Y|, rolloff (first bin with 85 % of Σ|Y| at or below it) and flatness
    (geometric ÷ arithmetic mean of |Y|² floored at 1e-10) of the Hann spectrum Y of each frame
    (:func:`_hann`, from the rectangular ``spectrum`` of ``scale`` × the signal); 0 for an empty frame."""
    magnitude = np.abs(_hann(spectrum, length))  # 4·scale·|Y|
    totals = magnitude.sum(axis=1)
    safe = np.where(totals > 0, totals, 1.0)
    centroid = (magnitude @ freqs) / safe
    rolloff = freqs[_rolloff_bins(magnitude, ROLLOFF_SHARE * totals)]
    floor = 4.0 * scale * math.sqrt(FLATNESS_FLOOR)  # |Y|² ≥ 1e-10 ⇔ |4·scale·Y| ≥ this
    log_power = 2.0 * np.log(np.maximum(magnitude, floor)).mean(axis=1)
    power = np.einsum("ij,ij->i", magnitude, magnitude) / magnitude.shape[1]  # the floor moves it < 1e-7
    flatness = np.exp(log_power) / np.maximum(power, floor * floor)
    empty = totals <= 0
    return np.stack([np.where(empty, 0.0, centroid), np.where(empty, 0.0, rolloff), np.where(empty, 0.0, flatness)], 1)


def _rolloff_bins(magnitude: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Per row, the number of leading bins whose running sum stays below ``targets`` (capped at the
    last bin): the cumulative sum runs over blocks of bins, then inside the one block that matters."""
    rows, bins = magnitude.shape
    whole = bins // ROLLOFF_BLOCK * ROLLOFF_BLOCK
    running = np.zeros((rows, whole // ROLLOFF_BLOCK + 1), magnitude.dtype)  # sums of the first 0, 1, 2 … blocks
    ones = np.ones(ROLLOFF_BLOCK, magnitude.dtype)
    np.cumsum(magnitude[:, :whole].reshape(rows, -1, ROLLOFF_BLOCK) @ ones, axis=1, out=running[:, 1:])
    blocks = (running[:, 1:] < targets[:, None]).sum(axis=1)  # whole blocks below the target
    index = np.arange(rows)
    before = running[index, blocks]
    wanted = blocks[:, None] * ROLLOFF_BLOCK + np.arange(ROLLOFF_BLOCK)
    offsets = np.minimum(wanted, bins - 1)
    inside = magnitude[index[:, None], offsets]
    inside[offsets < wanted] = 0.0  # past the last bin
    below = (before[:, None] + np.cumsum(inside, axis=1) < targets[:, None]).sum(axis=1)
    return np.minimum(blocks * ROLLOFF_BLOCK + below, bins - 1)


def _frame_length(seconds: float, rate: int) -> int:
    """The power of two nearest to ``seconds`` at ``rate`` (2048 for 46 ms at 44.1 kHz)."""
    return 1 << max(4, round(math.log2(seconds * rate)))


class _BandFrames:
    """The band shares, ``bass_mid_ratio_db`` and the harmonic features of the mono signal, from
    |X|² of consecutive periodic-Hann-windowed frames of ``length`` samples, fed as it grows.
    Frames do not overlap; a signal shorter than one frame is zero-padded to one. Each block of
    :attr:`step` frames is reduced as it is transformed (the spectrum summed over frames; per
    frame its energy, chroma, and tonal and total energy in 20 Hz–5 kHz), blocks cut the same
    way however the signal arrives."""

    def __init__(self, length: int, rate: int) -> None:
        self.length = length
        self.step = max(1, (1 << 17) // length)  # ~128 k samples per FFT call: the temporaries stay in cache
        self.window = (0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(length) / length)).astype(np.float32)
        self.freqs = freqs = np.fft.rfftfreq(length, 1.0 / rate)
        self.low = int(np.searchsorted(freqs, LOWEST_HZ))
        self.top = int(np.searchsorted(freqs, CHROMA_RANGE_HZ[1], side="right"))
        self.chroma = _chroma_matrix(freqs[self.low : self.top])
        self.spectrum = np.zeros(len(freqs))
        self.parts: dict[str, list[np.ndarray]] = {key: [] for key in ("energy", "chroma", "tonal", "total")}
        self.done = 0

    def feed(self, mono: np.ndarray) -> None:
        """Transform the whole blocks of frames of ``mono`` (a growing prefix) not transformed yet."""
        while (self.done + self.step) * self.length <= len(mono):
            self._block(mono, self.done + self.step)

    def result(self, mono: np.ndarray) -> dict[str, float]:
        """The features of ``mono``, the whole signal."""
        if len(mono) < self.length:
            mono = np.concatenate([mono, np.zeros(self.length - len(mono), np.float32)])
        self.feed(mono)
        if self.done < len(mono) // self.length:
            self._block(mono, len(mono) // self.length)
        spectrum, freqs = self.spectrum, self.freqs
        stats = {key: np.concatenate(parts) for key, parts in self.parts.items()}
        bass_mid = _ratio_db(_band_energy(spectrum, freqs, 60, 250), _band_energy(spectrum, freqs, 500, 2000))
        return {
            **_bands(spectrum, freqs),
            "bass_mid_ratio_db": bass_mid,
            **_harmonic(**stats),
        }

    def _block(self, mono: np.ndarray, last: int) -> None:
        frames = mono[self.done * self.length : last * self.length].reshape(-1, self.length)
        power = loudness.power_spectrum(rfft_rows(frames * self.window))  # float32
        self.spectrum += power.sum(axis=0)
        self.parts["energy"].append(power.sum(axis=1))
        tonal_range = power[:, self.low : self.top]
        self.parts["chroma"].append(tonal_range @ self.chroma)
        self.parts["tonal"].append(_peak_energy(tonal_range))
        self.parts["total"].append(tonal_range.sum(axis=1))
        self.done = last


def _band_energy(spectrum: np.ndarray, freqs: np.ndarray, low: float, high: float) -> float:
    return float(spectrum[(freqs >= low) & (freqs < high)].sum())


def _bands(spectrum: np.ndarray, freqs: np.ndarray) -> dict[str, float]:
    energy = np.array([_band_energy(spectrum, freqs, lo, hi) for lo, hi in pairwise(BAND_EDGES_HZ)])
    total = energy.sum()
    shares = energy / total if total > 0 else np.zeros_like(energy)
    return {name: float(share) for name, share in zip(BAND_NAMES, shares, strict=True)}


def _transient_density(onset: np.ndarray, duration: float, rate: int) -> float:
    """Onsets per second: peaks of the onset envelope (:class:`_OnsetEnergy`) at least 2 standard
    deviations above its mean (and ≥ 0.3, a 3 dB rise) and at least 50 ms apart."""
    if not onset.any() or duration <= 0:
        return 0.0
    threshold = max(float(onset.mean() + 2.0 * onset.std()), 0.3)
    hop = max(1, round(rate * ONSET_HOP_SECONDS))
    return len(local_peaks(onset, threshold, max(1, round(ONSET_MIN_GAP_SECONDS * rate / hop)))) / duration


class _OnsetEnergy:
    """The onset envelope every ``hop`` samples: the half-wave rectified rise of log energy (summed
    over the channels) of the first difference of the signal (a 6 dB/octave tilt that mutes
    sustained bass, whose energy ripple would otherwise alias into the envelope; a DC offset has
    no difference), smoothed over two hops. The energies are taken as the signal arrives."""

    def __init__(self, hop: int) -> None:
        self.hop = hop
        self.parts: list[np.ndarray] = []
        self.done = 0

    def feed(self, samples: np.ndarray, count: int) -> None:
        """Energies of the hops up to ``count`` (each needs the first sample of the next hop)."""
        hop, step = self.hop, max(1, (1 << 18) // self.hop)  # chunks: the differences stay in cache
        while self.done < count:
            last = min(count, self.done + step)
            difference = np.diff(samples[self.done * hop : last * hop + 1], axis=0).reshape(last - self.done, -1)
            energy = np.einsum("ij,ij->i", difference, difference)  # float32: ~2.5× faster than a float64 sum
            self.parts.append(energy.astype(np.float64) / difference.shape[1])
            self.done = last

    def envelope(self, samples: np.ndarray) -> np.ndarray:
        """The onset envelope of ``samples``, the whole signal."""
        count = (len(samples) - 1) // self.hop
        if count == 0:
            return np.zeros(1)
        self.feed(samples, count)
        energy = np.concatenate(self.parts)
        energy[1:] = 0.5 * (energy[1:] + energy[:-1])
        log_energy = np.log10(energy + 1e-10)
        return np.maximum(np.diff(log_energy, prepend=log_energy[:1]), 0.0)


def local_peaks(values: np.ndarray, height: float, distance: int) -> np.ndarray:
    """Indices of local maxima at least ``height`` high, keeping of any two closer than ``distance``
    the higher one (ties: the earlier); a plateau counts once, at its first sample."""
    inner = values[1:-1]
    candidates = np.flatnonzero((inner > values[:-2]) & (inner >= values[2:]) & (inner >= height)) + 1
    if distance <= 1 or len(candidates) < 2:
        return candidates
    keep = np.ones(len(candidates), bool)
    for i in np.argsort(-values[candidates], kind="stable"):
        if keep[i]:
            low = np.searchsorted(candidates, candidates[i] - distance + 1)
            high = np.searchsorted(candidates, candidates[i] + distance)
            keep[low:high] = False
            keep[i] = True
    return candidates[keep]


def _chroma_matrix(freqs: np.ndarray) -> np.ndarray:
    """Bins in 55 Hz–5 kHz → nearest pitch class (A = 0), as a (bins × 12) 0/1 matrix."""
    matrix = np.zeros((len(freqs), 12), np.float32)
    inside = (freqs >= CHROMA_RANGE_HZ[0]) & (freqs <= CHROMA_RANGE_HZ[1])
    pitch_class = np.round(12.0 * np.log2(freqs[inside] / 440.0)).astype(int) % 12
    matrix[np.flatnonzero(inside), pitch_class] = 1.0
    return matrix


def _harmonic(energy: np.ndarray, chroma: np.ndarray, tonal: np.ndarray, total: np.ndarray) -> dict[str, float]:
    """Harmonic ratio, pitch stability and chroma energy from each band frame's energy, chroma
    (frames × 12), and tonal and total energy in 20 Hz–5 kHz, over the frames within 60 dB of
    the loudest."""
    active = energy > energy.max() * 1e-6 if energy.max() > 0 else energy > 0
    if not active.any():
        return {"harmonic_ratio": 0.0, "pitch_stability": 0.0, "chroma_energy": 0.0}
    chroma = chroma[active]
    chroma = chroma[chroma.sum(axis=1) > 0]  # frames with energy in a pitch class
    if not len(chroma):
        chroma_energy = stability = 0.0
    else:
        chroma_energy = float((chroma.max(axis=1) / chroma.sum(axis=1)).mean())
        unit = chroma / np.linalg.norm(chroma, axis=1)[:, None]
        stability = float(np.einsum("ij,ij->i", unit[1:], unit[:-1]).mean()) if len(unit) > 1 else 1.0
    whole = float(total[active].sum())
    return {
        "harmonic_ratio": float(np.clip(tonal[active].sum() / whole, 0.0, 1.0)) if whole > 0 else 0.0,
        "pitch_stability": stability,
        "chroma_energy": chroma_energy,
    }


def _peak_energy(power: np.ndarray) -> np.ndarray:
    """Per frame, the energy (20 Hz–5 kHz) in spectral peaks ≥ 6 dB above the ±4-bin local mean
    (the harmonic ratio's numerator). A peak counts with its two neighbours, which hold the Hann
    window's main lobe."""
    width = 9
    if power.shape[1] <= width + 1:
        return np.zeros(len(power))
    cumulative = np.cumsum(power, axis=1, dtype=np.float32)
    local = (cumulative[:, width:] - cumulative[:, :-width]) / width
    centre = power[:, width // 2 + 1 : -(width // 2)]
    left = power[:, width // 2 : -(width // 2) - 1]
    right = power[:, width // 2 + 2 :][:, : centre.shape[1]]
    peaks = (centre > left) & (centre >= right) & (centre > 4.0 * local[:, : centre.shape[1]])
    return np.einsum("ij,ij->i", centre + left + right, peaks)


def _variation(peaks: np.ndarray, mean_square: np.ndarray, segments: loudness.SegmentPower) -> dict[str, float]:
    """Spread of per-second crest factor, of gated short-term loudness, and of per-second peaks
    (a second is ten segments)."""
    short_term = loudness.short_term_from_segments(segments)
    gated = short_term[loudness.gate_mask(short_term, 10.0 ** ((short_term + 0.691) / 10.0), -20.0)]
    loudness_std = float(gated.std()) if len(gated) > 1 else 0.0
    seconds = len(peaks) // 10
    second_peaks = peaks[: seconds * 10].reshape(seconds, 10).max(axis=1)
    second_power = mean_square[: seconds * 10].reshape(seconds, 10).mean(axis=1)
    loud = second_power > 10.0 ** (SILENCE_DBFS / 10.0)
    if not loud.any():
        return {"dynamic_range_variation_db": 0.0, "loudness_variation_lu": loudness_std, "peak_consistency": 1.0}
    crest = 10.0 * np.log10(second_peaks[loud] ** 2 / second_power[loud])
    return {
        "dynamic_range_variation_db": float(crest.std()),
        "loudness_variation_lu": loudness_std,
        "peak_consistency": _median(second_peaks[loud]) / float(second_peaks[loud].max()),
    }


def _median(values: np.ndarray) -> float:
    """The median (the mean of the middle two for an even count), without ``np.median``, whose
    first call imports numpy.ma (15–30 ms of a fresh ``auralis fingerprint``)."""
    ordered = np.sort(values)
    middle = len(ordered) // 2
    return float(ordered[middle] if len(ordered) % 2 else 0.5 * (ordered[middle - 1] + ordered[middle]))


def _stereo(ll: float, rr: float, lr: float) -> dict[str, float]:
    if ll + rr <= 0:
        return {"stereo_width": 0.0, "phase_correlation": 1.0}
    width = (ll + rr - 2.0 * lr) / (2.0 * (ll + rr))
    correlation = lr / np.sqrt(ll * rr) if ll > 0 and rr > 0 else 0.0
    return {
        "stereo_width": float(np.clip(width, 0.0, 1.0)),
        "phase_correlation": float(np.clip(correlation, -1.0, 1.0)),
    }
