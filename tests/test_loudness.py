"""BS.1770-4 loudness and true peak against the standard and EBU Tech 3341."""

from __future__ import annotations

import numpy as np
import pytest

from engine import loudness

from conftest import sine, stereo
from reference_dsp import grid_envelope

RATES = (44100, 48000)


def sequence(parts: list[tuple[float, float]], rate: int) -> np.ndarray:
    """Concatenate 1 kHz stereo sines given as (dBFS, seconds) — EBU Tech 3341 style."""
    return stereo(np.concatenate([sine(1000, seconds, rate, dbfs) for dbfs, seconds in parts]))


def test_k_weighting_matches_bs1770_tables_at_48k():
    # BS.1770-4 Table 1 (pre-filter) and Table 2 (RLB) coefficients at 48 kHz
    expected = np.array(
        [
            [1.53512485958697, -2.69169618940638, 1.19839281085285, 1.0, -1.69065929318241, 0.73248077421585],
            [1.0, -2.0, 1.0, 1.0, -1.99004745483398, 0.99007225036621],
        ]
    )
    np.testing.assert_allclose(loudness.k_weighting_sos(48000), expected, atol=1e-9)


@pytest.mark.parametrize("rate", RATES)
@pytest.mark.parametrize(
    ("case", "parts", "expected"),
    [
        ("3341-1 sine −23 dBFS", [(-23, 20)], -23.0),
        ("3341-2 sine −33 dBFS", [(-33, 20)], -33.0),
        ("3341-3 relative gate", [(-36, 10), (-23, 60), (-36, 10)], -23.0),
        ("3341-4 absolute gate", [(-72, 10), (-36, 10), (-23, 60), (-36, 10), (-72, 10)], -23.0),
        ("3341-5 level steps", [(-26, 20), (-20, 20.1), (-26, 20)], -23.0),
    ],
)
def test_ebu_tech_3341_integrated(rate, case, parts, expected):
    measured = loudness.integrated_loudness(sequence(parts, rate), rate)
    assert measured == pytest.approx(expected, abs=0.1), case


@pytest.mark.parametrize("rate", (8000, 11025, 22050, 96000, 192000))
def test_any_sample_rate(rate):
    assert loudness.integrated_loudness(sequence([(-23, 10)], rate), rate) == pytest.approx(-23.0, abs=0.1)


def test_mono_channel_counts_once():
    # one channel at −23 dBFS carries half the power of two: 3 dB quieter
    rate = 48000
    mono = sine(1000, 10, rate, -23)[:, None]
    assert loudness.integrated_loudness(mono, rate) == pytest.approx(-26.01, abs=0.1)


def test_not_plain_rms():
    # K-weighting: at equal RMS a 100 Hz tone measures quieter than a 1 kHz tone, a 4 kHz louder
    rate = 48000
    low, mid, high = (loudness.integrated_loudness(stereo(sine(f, 10, rate, -20)), rate) for f in (100, 1000, 4000))
    assert low < mid - 0.5
    assert high > mid + 2.0


def test_short_term_of_steady_tone_and_step():
    rate = 48000
    values = loudness.short_term_loudness(sequence([(-30, 5), (-20, 5)], rate), rate)
    assert len(values) == 100 - 30 + 1  # 10 s in 100 ms steps, 3 s windows
    assert values[0] == pytest.approx(-30.0, abs=0.1)
    assert values[-1] == pytest.approx(-20.0, abs=0.1)
    assert np.all(np.diff(values) >= -1e-5)  # rising across the step, never falling (float32 filter noise aside)


def test_silence_and_too_short_are_floored_not_nan():
    rate = 44100
    silent = np.zeros((rate * 5, 2), np.float32)
    assert loudness.integrated_loudness(silent, rate) == loudness.FLOOR_LUFS
    assert loudness.integrated_loudness(np.ones((100, 2), np.float32) * 0.5, rate) == loudness.FLOOR_LUFS
    assert loudness.true_peak(silent, rate) == -200.0
    assert not np.isnan(loudness.short_term_loudness(silent, rate)).any()


@pytest.mark.parametrize("rate", RATES)
def test_true_peak_exceeds_sample_peak_between_samples(rate):
    # A sine at fs/4 sampled 45° off its crest: every sample sits at 0.707 (−3.01 dBFS) but the
    # waveform reaches 0 dBFS between samples (the EBU Tech 3341 true-peak construction).
    x = stereo(sine(rate / 4, 2, rate, 0.0, phase=np.pi / 4))
    sample_peak = 20 * np.log10(np.abs(x).max())
    assert sample_peak == pytest.approx(-3.01, abs=0.01)
    # EBU Tech 3341 tolerance for true-peak meters: +0.2 / −0.4 dB
    assert -0.4 <= loudness.true_peak(x, rate) <= 0.2


@pytest.mark.parametrize("rate", RATES)
@pytest.mark.parametrize("dbtp", [-6.0, -0.5])
def test_true_peak_of_sines_at_inter_sample_phases(rate, dbtp):
    for freq in (997.0, 5000.0, 11025.0):
        x = stereo(sine(freq, 1, rate, dbtp, phase=0.3))
        assert loudness.true_peak(x, rate) == pytest.approx(dbtp, abs=0.25)


@pytest.mark.parametrize("rate", [22050, 44100, 48000])
@pytest.mark.parametrize("share", [0.30, 0.40, 0.45])
def test_true_peak_is_flat_to_045_fs(rate, share):
    # Tones up to 0.45·fs at many inter-sample phases, faded in and out (no edge overshoot):
    # the reading may only be as low as the 8× grid allows (≤ 0.14 dB), never high.
    fade = np.minimum(1.0, np.minimum(np.arange(rate), np.arange(rate)[::-1]) / (0.1 * rate))
    for phase in np.linspace(0, np.pi, 7):
        x = sine(share * rate, 1, rate, -3.0, phase=phase) * fade
        assert -3.0 - 0.15 <= loudness.true_peak(x[:, None], rate) <= -3.0 + 0.02


def test_true_peak_envelope_threshold_is_exact_where_it_matters(rng):
    rate = 44100
    x = (rng.standard_normal(rate) * 0.1).astype(np.float32)
    x[20000:20010] *= 8
    factor = loudness.oversampling_factor(rate)
    full = loudness.true_peak_envelope(x, factor)
    pruned = loudness.true_peak_envelope(x, factor, threshold=0.5)
    loud = full >= 0.5
    assert loud.any()
    np.testing.assert_array_equal(pruned[loud], full[loud])
    assert np.all(pruned <= full)


@pytest.mark.parametrize("rate", [22050, 44100, 48000, 96000])
def test_true_peak_envelope_matches_band_limited_interpolation(rng, rate):
    # Noise band-limited to 0.44·fs (windowed FFT-domain cut, odd length, no Nyquist bin): the
    # envelope on the engine's grid equals an FFT interpolation on the same grid, per sample.
    n = 8191
    spectrum = np.fft.rfft(rng.standard_normal(n))
    spectrum[np.fft.rfftfreq(n) > 0.44] = 0.0
    x = (np.fft.irfft(spectrum, n) * np.hanning(n) * 0.2).astype(np.float32)
    factor = loudness.oversampling_factor(rate)
    expected = grid_envelope(x, factor)
    envelope = loudness.true_peak_envelope(x, factor)
    np.testing.assert_allclose(envelope, expected, atol=5e-4 * np.abs(x).max())


@pytest.mark.parametrize("rate", (8000, 11025, 44100, 48000, 96000))
def test_segment_energies_are_a_time_domain_filter_started_at_rest(rng, rate):
    # The meter sums K-weighted energy per 100 ms segment from each segment's FFT plus the filter's
    # free response to the state it carries in (no recursive filter). An independent time-domain
    # reference (scipy's sosfilt from rest) must agree on noise riding on a DC offset and a 30 Hz
    # swell — the cases where the circular (FFT-only) energy is furthest off.
    from scipy.signal import sosfilt

    seconds = 3
    t = np.arange(rate * seconds) / rate
    x = (0.1 * rng.standard_normal(len(t)) + 0.3 + 0.2 * np.sin(2 * np.pi * 30 * t)).astype(np.float32)
    length = loudness.segment_length(rate)
    count = len(x) // length
    y = sosfilt(loudness.k_weighting_sos(rate), x[: count * length].astype(np.float64))
    expected = np.square(y).reshape(count, length).sum(axis=1)
    np.testing.assert_allclose(loudness.segment_power(x[:, None], rate).sums, expected, rtol=1e-9)


def test_k_weighting_response_is_the_filters():
    # the per-bin weights |H|² come from the same biquads the standard tabulates
    from scipy.signal import sosfreqz

    freqs = np.array([10.0, 38.0, 100.0, 1000.0, 1682.0, 10000.0, 20000.0])
    _, expected = sosfreqz(loudness.k_weighting_sos(48000), worN=freqs, fs=48000)
    np.testing.assert_allclose(loudness.k_weighting_response(freqs, 48000), expected, rtol=1e-12)
