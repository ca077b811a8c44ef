"""The 25 fingerprint features: their names, units, bounds and the :class:`Fingerprint` record.

Plain data without numpy, so reading a profile (``engine.model`` checks rule names against
:data:`FEATURE_NAMES`) or a stored fingerprint costs no numeric imports; ``engine.fingerprint``
computes the values (and re-exports these names).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

FINGERPRINT_VERSION = 5  # 2: DC blocker, standard spectral features, 0.74 s band frames, meter LUFS;
#                         3: tempo from mel spectral flux and a time-averaged tempogram;
#                         4: one FFT pass without a time-domain filter: DC removed per frame (not by
#                            a 20 Hz high-pass), ~50 ms spectral frames, 100 ms silence windows;
#                         5: tempo (engine.tempo): smoothed tempograms, a subdivision is not the beat
BAND_NAMES = ("sub_bass", "bass", "low_mid", "mid", "upper_mid", "presence", "air")


@dataclass(frozen=True)
class Fingerprint:
    """25 numbers describing a recording (units beside each; how each is computed: ``engine.fingerprint``)."""

    # frequency: energy share per band, sums to 1 (all 0 for silence)
    sub_bass: float  # 20–60 Hz
    bass: float  # 60–250 Hz
    low_mid: float  # 250–500 Hz
    mid: float  # 500–2000 Hz
    upper_mid: float  # 2–4 kHz
    presence: float  # 4–8 kHz
    air: float  # 8–20 kHz
    # dynamics
    lufs: float  # BS.1770-4 integrated loudness as played on a stereo pair (mono: +3.01 LU), LUFS
    crest_db: float  # 20·log10(sample peak / RMS), each channel's mean (DC) removed
    bass_mid_ratio_db: float  # 10·log10(E 60–250 Hz / E 500–2000 Hz), clamped ±60
    # temporal
    tempo_bpm: float  # mel spectral flux → time-averaged tempogram, 50–220 BPM, 0 if no pulse
    rhythm_stability: float  # mean normalised local autocorrelation at the tempo lag, 0–1
    transient_density: float  # onsets per second
    silence_ratio: float  # share of 100 ms segments below −60 dBFS
    # spectral: per ~50 ms Hann frame of the magnitude spectrum |X|, mean over non-silent frames
    spectral_centroid_hz: float  # Σ f·|X| / Σ |X|
    spectral_rolloff_hz: float  # lowest bin frequency below which 85 % of Σ |X| lies
    spectral_flatness: float  # geometric / arithmetic mean of |X|² (floored at 1e-10), 0–1
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
        import numpy as np

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
