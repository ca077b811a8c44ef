"""The 25-D fingerprint on synthesized signals whose answers are known."""

from __future__ import annotations

import math

import numpy as np
import pytest

from auralis_tui.synth import CHARACTERS, render
from engine import loudness
from engine.fingerprint import FEATURE_NAMES, FINGERPRINT_VERSION, Fingerprint, fingerprint

from conftest import band_noise, click_track, sine, stereo

BANDS = {
    "sub_bass": (25, 55),
    "bass": (70, 240),
    "low_mid": (260, 490),
    "mid": (600, 1900),
    "upper_mid": (2100, 3900),
    "presence": (4200, 7800),
    "air": (8500, 19000),
}


def test_shape_and_version():
    fp = fingerprint(stereo(sine(440, 2, 44100)), 44100)
    assert len(FEATURE_NAMES) == 25
    assert fp.as_vector().shape == (25,)
    assert Fingerprint.from_dict(fp.as_dict()) == fp
    assert isinstance(FINGERPRINT_VERSION, int)


@pytest.mark.parametrize("band", list(BANDS))
def test_band_limited_noise_lands_in_its_band(band):
    low, high = BANDS[band]
    fp = fingerprint(band_noise(low, high, 5, 44100), 44100).as_dict()
    assert fp[band] > 0.9
    assert sum(fp[b] for b in BANDS) == pytest.approx(1.0, abs=1e-6)


def test_centroid_of_1khz_tone_is_in_hertz():
    fp = fingerprint(stereo(sine(1000, 5, 44100)), 44100)
    assert fp.spectral_centroid_hz == pytest.approx(1000, rel=0.02)
    assert fp.spectral_rolloff_hz == pytest.approx(1000, abs=50)
    assert fp.spectral_flatness < 0.05  # a pure tone is as far from noise as it gets
    assert fp.harmonic_ratio > 0.9


def test_white_noise_is_flat_and_not_harmonic(rng):
    fp = fingerprint((rng.standard_normal((44100 * 5, 2)) * 0.1).astype(np.float32), 44100)
    assert fp.spectral_flatness > 0.4  # ≈ e^−γ ≈ 0.56 for exponential-distributed bin powers
    assert fp.harmonic_ratio < 0.2
    assert fp.stereo_width == pytest.approx(0.5, abs=0.02)  # independent channels
    assert abs(fp.phase_correlation) < 0.02


@pytest.mark.parametrize("bpm", [90, 120, 140])
def test_click_tempo_not_halved(bpm):
    fp = fingerprint(click_track(bpm, 30, 44100), 44100)
    assert fp.tempo_bpm == pytest.approx(bpm, abs=2)
    assert fp.transient_density == pytest.approx(bpm / 60, rel=0.1)
    assert fp.rhythm_stability > 0.5


def test_half_silent_track():
    rate = 44100
    tone = sine(440, 10, rate, -12)
    tone[len(tone) // 2 :] = 0
    fp = fingerprint(stereo(tone), rate)
    assert fp.silence_ratio == pytest.approx(0.5, abs=0.02)


def test_mono_and_inverted_stereo():
    rate = 44100
    tone = sine(440, 3, rate, -12)
    mono = fingerprint(tone[:, None].astype(np.float32), rate)
    assert mono.stereo_width == 0.0
    assert mono.phase_correlation == 1.0
    inverted = fingerprint(np.stack([tone, -tone], axis=1).astype(np.float32), rate)
    assert inverted.phase_correlation == pytest.approx(-1.0, abs=1e-6)
    assert inverted.stereo_width == pytest.approx(1.0, abs=1e-6)


def test_lufs_is_bs1770_and_crest_of_a_sine():
    rate = 48000
    fp = fingerprint(stereo(sine(1000, 10, rate, -23)), rate)
    assert fp.lufs == pytest.approx(-23.0, abs=0.1)
    assert fp.crest_db == pytest.approx(10 * math.log10(2), abs=0.05)  # √2 peak/RMS


def test_bass_to_mid_ratio_sign():
    rate = 44100
    bassy = stereo(sine(100, 3, rate, -12) + sine(1000, 3, rate, -24))
    assert fingerprint(bassy, rate).bass_mid_ratio_db == pytest.approx(12.0, abs=0.5)


def test_loudness_variation_sees_a_level_step():
    rate = 44100
    steady = stereo(sine(1000, 20, rate, -20))
    stepped = stereo(np.concatenate([sine(1000, 10, rate, -30), sine(1000, 10, rate, -10)]))
    assert fingerprint(steady, rate).loudness_variation_lu < 0.1
    assert fingerprint(stepped, rate).loudness_variation_lu > 5.0
    assert fingerprint(steady, rate).peak_consistency == pytest.approx(1.0, abs=0.01)


@pytest.mark.parametrize("rate", [8000, 22050, 44100, 48000, 96000, 192000])
def test_every_rate_gives_consistent_physical_values(rate):
    fp = fingerprint(stereo(sine(1000, 4, rate, -23) + 0.01 * np.sin(np.arange(4 * rate) * 0.001)), rate)
    values = fp.as_vector()
    assert np.isfinite(values).all()
    assert fp.spectral_centroid_hz == pytest.approx(1000, rel=0.05)
    assert fp.lufs == pytest.approx(-23.0, abs=0.2)
    assert fp.mid > 0.9


@pytest.mark.parametrize(
    "signal",
    [np.zeros((44100 * 3, 2), np.float32), np.zeros((10, 1), np.float32), stereo(sine(440, 1, 44100))],
    ids=["silence", "ten-samples", "one-second"],
)
def test_degenerate_inputs_are_defined(signal):
    fp = fingerprint(signal, 44100)
    assert np.isfinite(fp.as_vector()).all()


def test_silence_values():
    fp = fingerprint(np.zeros((44100 * 3, 2), np.float32), 44100)
    assert fp.lufs == -70.0
    assert fp.silence_ratio == 1.0
    assert fp.tempo_bpm == 0.0
    assert fp.phase_correlation == 1.0


@pytest.mark.parametrize(("name", "rate"), [("live", 44100), ("metal", 48000), ("bootleg", 11025), ("vintage", 96000)])
def test_spectral_loudness_agrees_with_the_time_domain_meter(name, rate):
    # the fingerprint K-weights in the frequency domain (Parseval); engine.loudness filters
    music = render(CHARACTERS[name], 12, rate, seed=5)
    fp = fingerprint(music, rate)
    assert fp.lufs == pytest.approx(loudness.integrated_loudness(music, rate), abs=0.1)


def test_stereo_sums_are_exact(rng):
    left = rng.standard_normal(44100).astype(np.float32)
    right = (0.3 * left + rng.standard_normal(44100)).astype(np.float32)
    fp = fingerprint(np.stack([left, right], axis=1), 44100)
    ll, rr, lr = (float(np.dot(a.astype(np.float64), b)) for a, b in ((left, left), (right, right), (left, right)))
    assert fp.phase_correlation == pytest.approx(lr / np.sqrt(ll * rr), abs=1e-3)
    assert fp.stereo_width == pytest.approx((ll + rr - 2 * lr) / (2 * (ll + rr)), abs=1e-3)
