"""The 25-D fingerprint on synthesized signals whose answers are known."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from auralis_tui.synth import CHARACTERS, render
from engine import audio, loudness
from engine.fingerprint import FEATURE_NAMES, FINGERPRINT_VERSION, Fingerprint, fingerprint, fingerprint_decoding

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


#: The fingerprint of one fixed synthesized track per FINGERPRINT_VERSION. A change to any
#: definition changes these values, so it cannot ship without a new version (which makes a scan
#: re-analyse stored fingerprints): update the version, then add its values here.
GOLDEN = {
    2: {"sub_bass": 0.115008, "bass": 0.402233, "low_mid": 0.214501, "mid": 0.236882, "upper_mid": 0.0248078,
        "presence": 0.00583763, "air": 0.00072989, "lufs": -10.4853, "crest_db": 11.4193, "bass_mid_ratio_db": 2.29945,
        "tempo_bpm": 191.61, "rhythm_stability": 0.64718, "transient_density": 2.66828, "silence_ratio": 0.0,
        "spectral_centroid_hz": 1448.34, "spectral_rolloff_hz": 2980.93, "spectral_flatness": 0.000747441,
        "harmonic_ratio": 0.771548, "pitch_stability": 0.826518, "chroma_energy": 0.480718,
        "dynamic_range_variation_db": 0.72151, "loudness_variation_lu": 0.142669, "peak_consistency": 0.938552,
        "stereo_width": 0.118731, "phase_correlation": 0.762636},
    3: {"sub_bass": 0.115008, "bass": 0.402233, "low_mid": 0.214501, "mid": 0.236882, "upper_mid": 0.0248078,
        "presence": 0.00583763, "air": 0.00072989, "lufs": -10.4853, "crest_db": 11.4193, "bass_mid_ratio_db": 2.29945,
        "tempo_bpm": 95.733, "rhythm_stability": 0.736218, "transient_density": 2.66828, "silence_ratio": 0.0,
        "spectral_centroid_hz": 1448.34, "spectral_rolloff_hz": 2980.93, "spectral_flatness": 0.000747441,
        "harmonic_ratio": 0.771548, "pitch_stability": 0.826518, "chroma_energy": 0.480718,
        "dynamic_range_variation_db": 0.72151, "loudness_variation_lu": 0.142669, "peak_consistency": 0.938552,
        "stereo_width": 0.118731, "phase_correlation": 0.762636},
    4: {"sub_bass": 0.117529, "bass": 0.401552, "low_mid": 0.213682, "mid": 0.235981, "upper_mid": 0.0247136,
        "presence": 0.00581547, "air": 0.000727119, "lufs": -10.485, "crest_db": 10.2286,
        "bass_mid_ratio_db": 2.30865, "tempo_bpm": 95.7381, "rhythm_stability": 0.736347,
        "transient_density": 2.66667, "silence_ratio": 0, "spectral_centroid_hz": 1469.28,
        "spectral_rolloff_hz": 3023.33, "spectral_flatness": 0.000799408, "harmonic_ratio": 0.771021,
        "pitch_stability": 0.826605, "chroma_energy": 0.48081, "dynamic_range_variation_db": 0.646594,
        "loudness_variation_lu": 0.142659, "peak_consistency": 0.989301, "stereo_width": 0.118548,
        "phase_correlation": 0.763005},
}  # fmt: skip
GOLDEN[5] = {**GOLDEN[4], "tempo_bpm": 95.7598}  # v5: only the tempo moved


def test_shape_and_version_pin_the_definitions():
    fp = fingerprint(render(CHARACTERS["studio"], 6, 44100, seed=7), 44100)
    assert len(FEATURE_NAMES) == 25
    assert fp.as_vector().shape == (25,)
    assert Fingerprint.from_dict(fp.as_dict()) == fp
    assert FINGERPRINT_VERSION in GOLDEN, "a new FINGERPRINT_VERSION needs its golden values"
    for name, expected in GOLDEN[FINGERPRINT_VERSION].items():
        assert fp.as_dict()[name] == pytest.approx(expected, rel=1e-3, abs=1e-6), name


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


@pytest.mark.parametrize("bpm", [60, 75, 90, 100, 120, 140, 160, 164, 180, 188, 200])
def test_click_tempo_neither_halved_nor_doubled(bpm):
    fp = fingerprint(click_track(bpm, 30, 44100), 44100)
    assert fp.tempo_bpm == pytest.approx(bpm, rel=0.01)
    assert fp.transient_density == pytest.approx(bpm / 60, rel=0.1)
    assert fp.rhythm_stability > 0.5


@pytest.mark.parametrize("bpm", [222, 226, 240, 300])
def test_a_pulse_faster_than_the_range_is_read_in_half_time(bpm):
    """The tempo stays within 50–220 BPM: lags a hop short of 220 BPM read 222–226 before."""
    assert fingerprint(click_track(bpm, 30, 44100), 44100).tempo_bpm == pytest.approx(bpm / 2, rel=0.01)


@pytest.mark.parametrize("name", sorted(CHARACTERS))
def test_tempo_of_synthesized_music_is_its_tempo(name):
    # Drums, bass and chords at a known tempo. Metal (168 BPM, kick on every other beat) may be
    # read at half tempo: the two metrical levels are as far from the 120 BPM prior.
    character = CHARACTERS[name]
    tempo = fingerprint(render(character, 20, 44100, seed=3), 44100).tempo_bpm
    levels = (character.tempo, character.tempo / 2) if name == "metal" else (character.tempo,)
    assert any(tempo == pytest.approx(level, rel=0.04) for level in levels), tempo


@pytest.mark.parametrize("bpm", [66, 72, 88, 104, 124, 160])
def test_eighth_note_hats_are_not_the_beat(bpm):
    # Kick and snare on the quarter notes, loud hi-hats on every eighth, bass and chords: the
    # beat is the quarter note. The log-mel onset strength alone makes the hat level as strong,
    # and the 120 BPM prior then picks 132, 144 or 208 BPM at 66, 72 and 104.
    music = render(replace(CHARACTERS["studio"], tempo=bpm, hats=0.35), 15, 44100, seed=1)
    assert fingerprint(music, 44100).tempo_bpm == pytest.approx(bpm, rel=0.04)


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
    tone = sine(1000, 10, rate, -23)
    tone[: rate // 50] *= np.linspace(0, 1, rate // 50)  # a 20 ms fade-in: no onset transient in the high-pass
    fp = fingerprint(stereo(tone), rate)
    assert fp.lufs == pytest.approx(-23.0, abs=0.1)
    assert fp.crest_db == pytest.approx(10 * math.log10(2), abs=0.05)  # √2 peak/RMS


def test_bass_to_mid_ratio_sign():
    rate = 44100
    bassy = stereo(sine(100, 3, rate, -12) + sine(1000, 3, rate, -24))
    assert fingerprint(bassy, rate).bass_mid_ratio_db == pytest.approx(12.0, abs=0.5)


def test_loudness_variation_sees_a_level_step():
    rate = 44100
    steady = sine(1000, 20, rate, -20)
    steady[: rate // 50] *= np.linspace(0, 1, rate // 50)  # no onset transient in the first second's peak
    steady = stereo(steady)
    stepped = stereo(np.concatenate([sine(1000, 10, rate, -30), sine(1000, 10, rate, -10)]))
    assert fingerprint(steady, rate).loudness_variation_lu < 0.1
    assert fingerprint(stepped, rate).loudness_variation_lu > 5.0
    assert fingerprint(steady, rate).peak_consistency == pytest.approx(1.0, abs=0.01)


@pytest.mark.parametrize("rate", [8000, 22050, 44100, 48000, 96000, 192000])
def test_every_rate_gives_consistent_physical_values(rate):
    fp = fingerprint(stereo(sine(1000, 4, rate, -23) + 0.05), rate)  # a DC offset on top
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
    # the fingerprint's loudness is the meter's, as played on two speakers (mono: +3.01 LU)
    music = render(CHARACTERS[name], 12, rate, seed=5)
    fp = fingerprint(music, rate)
    assert fp.lufs == pytest.approx(loudness.playback_loudness(music, rate), abs=1e-6)
    as_played = np.repeat(music, 2, axis=1) if name == "vintage" else music
    assert fp.lufs == pytest.approx(loudness.integrated_loudness(as_played, rate), abs=0.01)


def test_stereo_sums_are_exact(rng):
    left = rng.standard_normal(44100).astype(np.float32)
    right = (0.3 * left + rng.standard_normal(44100)).astype(np.float32)
    fp = fingerprint(np.stack([left, right], axis=1), 44100)
    ll, rr, lr = (float(np.dot(a.astype(np.float64), b)) for a, b in ((left, left), (right, right), (left, right)))
    assert fp.phase_correlation == pytest.approx(lr / np.sqrt(ll * rr), abs=1e-3)
    assert fp.stereo_width == pytest.approx((ll + rr - 2 * lr) / (2 * (ll + rr)), abs=1e-3)


def test_dc_offset_changes_nothing_that_matters():
    # A DC offset (seen up to 0.31 on real masters) must not reach a feature.
    rate = 44100
    music = render(CHARACTERS["live"], 10, rate, seed=8)
    clean = fingerprint(music, rate)
    offset = fingerprint(music * np.float32(0.6) + np.float32(0.3), rate)
    for name in ("spectral_centroid_hz", "spectral_rolloff_hz", "crest_db", "harmonic_ratio", "sub_bass", "bass"):
        assert getattr(offset, name) == pytest.approx(getattr(clean, name), rel=0.03), name
    assert offset.lufs == pytest.approx(clean.lufs + 20 * math.log10(0.6), abs=0.05)
    assert offset.stereo_width == pytest.approx(clean.stereo_width, abs=0.01)
    assert offset.silence_ratio == clean.silence_ratio


def test_spectral_features_follow_the_magnitude_definitions():
    # 500 Hz at amplitude 1 and 4 kHz at 0.25: on the magnitude spectrum the centroid is
    # (500·1 + 4000·0.25) / 1.25 = 1200 Hz and 85 % of Σ|X| lies only past the 4 kHz tone
    # (the 500 Hz tone holds 80 %). A power-weighted centroid would say 706 Hz, rolloff 500 Hz.
    rate = 44100
    x = stereo(0.5 * sine(500, 5, rate, 0) + 0.125 * sine(4000, 5, rate, 0))
    fp = fingerprint(x, rate)
    assert fp.spectral_centroid_hz == pytest.approx(1200, rel=0.03)
    assert fp.spectral_rolloff_hz == pytest.approx(4000, abs=50)


def test_flatness_is_windowed():
    # A tone between two bins leaks across the spectrum without a window; with Hann it stays a tone.
    rate = 44100
    fp = fingerprint(stereo(sine(1000.0 + 0.5 * rate / 2048, 5, rate, -6)), rate)
    assert fp.spectral_flatness < 1e-6  # Hann: ~4e-12; without a window: ~7e-5


@pytest.mark.parametrize(("freq", "band"), [(57.0, "sub_bass"), (63.0, "bass"), (65.0, "bass"), (55.0, "sub_bass")])
def test_band_shares_resolve_the_60_hz_edge(freq, band):
    fp = fingerprint(stereo(sine(freq, 8, 44100, -12)), 44100).as_dict()
    assert fp[band] > 0.95


@pytest.mark.parametrize("length", [2205, 2400, 551])
def test_hann_spectrum_from_the_rectangular_one(rng, length):
    # the spectral features' Hann frames come from the segment FFT by a 3-bin convolution (times 4)
    from engine.fingerprint import _hann

    frames = rng.standard_normal((3, length))
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(length) / length)
    expected = np.fft.rfft(frames * window, axis=1)
    tolerance = 1e-9 * np.abs(expected).max()
    np.testing.assert_allclose(_hann(np.fft.rfft(frames, axis=1), length), 4 * expected, atol=tolerance)


def test_local_peaks_match_scipy_find_peaks(rng):
    from scipy.signal import find_peaks

    from engine.fingerprint import local_peaks

    values = np.maximum(rng.standard_normal(5000), 0.0)
    for height, distance in ((0.3, 10), (1.0, 3), (0.0, 1)):
        expected, _ = find_peaks(values, height=height, distance=distance)
        np.testing.assert_array_equal(local_peaks(values, height, distance), expected)


@pytest.mark.parametrize("bins", [5, 32, 33, 1103, 1201])
def test_rolloff_bins_follow_the_running_sum(rng, bins):
    # the rolloff sums blocks of bins first: it must still stop at the first bin reaching the target
    from engine.fingerprint import _rolloff_bins

    magnitude = rng.random((40, bins)) ** 4
    magnitude[0] = 0.0  # an empty frame
    totals = magnitude.sum(axis=1)
    targets = totals * rng.choice([0.0, 0.3, 0.85, 1.0, 2.0], len(totals))
    expected = np.minimum((np.cumsum(magnitude, axis=1) < targets[:, None]).sum(axis=1), bins - 1)
    np.testing.assert_array_equal(_rolloff_bins(magnitude, targets), expected)


@pytest.mark.parametrize(
    ("name", "seconds", "rate", "channels", "suffix"),
    [("studio", 20, 44100, 2, ".flac"), ("vintage", 9, 48000, 1, ".flac"), ("live", 7, 44100, 2, ".mp3"),
     ("metal", 3, 22050, 6, ".wav"), ("studio", 0.05, 44100, 2, ".wav")],
    ids=["stereo", "mono", "mp3", "six-channels", "shorter-than-a-segment"],
)  # fmt: skip
def test_fingerprint_while_decoding_equals_the_fingerprint_of_the_decoded_file(
    tmp_path, monkeypatch, name, seconds, rate, channels, suffix
):
    # the analysis takes the decoded prefix in whatever pieces the decode thread hands out (here
    # 12,345 frames: nothing lines up with a segment, a batch, a band frame or an onset hop)
    monkeypatch.setattr(audio, "DECODE_BLOCK", 12345)
    music = render(CHARACTERS[name], seconds, rate, seed=4)
    music = np.repeat(music, 3, axis=1)[:, :channels] if music.shape[1] < channels else music[:, :channels]
    path = tmp_path / f"music{suffix}"
    audio.write(path, music, rate)
    decoded = audio.decode(path)
    assert fingerprint_decoding(audio.BackgroundDecode(path)) == fingerprint(decoded.samples, decoded.rate)
