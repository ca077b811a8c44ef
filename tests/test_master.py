"""The mastering chain: filter responses, streaming = offline, ceiling and loudness promises."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from scipy import signal

from auralis_tui.synth import CHARACTERS, render
from engine import loudness
from engine.master import StreamingMaster, apply_width, design_eq, master
from engine.model import MasterParams, load_profiles

from conftest import sine, stereo


def measured_gain_db(sos: np.ndarray, freq: float, rate: int) -> float:
    """Filter a real sine and compare steady-state RMS (first half discarded as transient)."""
    x = sine(freq, 2.0, rate, -20)
    y = signal.sosfilt(sos, x)
    half = len(x) // 2
    return 20 * np.log10(np.sqrt(np.mean(y[half:] ** 2)) / np.sqrt(np.mean(x[half:] ** 2)))


@pytest.mark.parametrize("rate", [44100, 48000])
@pytest.mark.parametrize("gain", [6.0, -6.0])
def test_shelves_and_peak_measure_their_gain(rate, gain):
    bass = design_eq(MasterParams(bass_db=gain, bass_hz=100), rate)
    assert measured_gain_db(bass, 15, rate) == pytest.approx(gain, abs=0.2)  # well inside the shelf
    assert measured_gain_db(bass, 3000, rate) == pytest.approx(0.0, abs=0.2)  # far outside
    treble = design_eq(MasterParams(treble_db=gain, treble_hz=3000), rate)
    assert measured_gain_db(treble, 18000, rate) == pytest.approx(gain, abs=0.2)
    assert measured_gain_db(treble, 100, rate) == pytest.approx(0.0, abs=0.2)
    mid = design_eq(MasterParams(mid_db=gain, mid_hz=1000), rate)
    assert measured_gain_db(mid, 1000, rate) == pytest.approx(gain, abs=0.2)  # at the centre
    assert measured_gain_db(mid, 30, rate) == pytest.approx(0.0, abs=0.2)


def test_flat_parameters_are_transparent():
    sos = design_eq(MasterParams(), 44100)
    for freq in (40, 1000, 15000):
        assert measured_gain_db(sos, freq, 44100) == pytest.approx(0.0, abs=0.01)


def test_width_scales_side_only():
    rate = 44100
    left, right = sine(300, 1, rate, -10), sine(500, 1, rate, -14)
    x = np.stack([left, right], axis=1)
    y = apply_width(x, 0.5)
    np.testing.assert_allclose(y[:, 0] + y[:, 1], x[:, 0] + x[:, 1], atol=1e-12)  # mid kept
    np.testing.assert_allclose(y[:, 0] - y[:, 1], 1.5 * (x[:, 0] - x[:, 1]), atol=1e-12)  # side × 1.5
    mono = apply_width(np.stack([left, left], axis=1), 1.0)
    np.testing.assert_array_equal(mono[:, 0], mono[:, 1])


@pytest.mark.parametrize("block", [2048, 1000, 1])
def test_streaming_equals_offline_before_loudness(block):
    rate = 48000
    x = render(CHARACTERS["live"], 1.0 if block == 1 else 6.0, rate, seed=3)
    params = MasterParams(bass_db=3.0, mid_db=-2.0, treble_db=2.5, width=0.3)
    offline = apply_width(signal.sosfilt(design_eq(params, rate), x.astype(np.float64), axis=0), params.width)
    stream = StreamingMaster(params, rate, 2, gain_db=0.0)
    streamed = np.concatenate([stream.pre_loudness(x[i : i + block]) for i in range(0, len(x), block)])
    np.testing.assert_allclose(streamed, offline, atol=1e-6, rtol=0)


def test_streaming_full_chain_equals_offline_render():
    rate = 48000
    x = render(CHARACTERS["live"], 8.0, rate, seed=4)
    params = MasterParams(bass_db=3.85, treble_db=-1.22, width=0.35, target_lufs=-9.0)
    offline, report = master(x, rate, params)
    assert report.max_reduction_db > 0  # the limiter really worked on this one
    stream = StreamingMaster(params, rate, 2, report.gain_db)
    parts = [stream.process(x[i : i + 2048]) for i in range(0, len(x), 2048)]
    streamed = np.concatenate([*parts, stream.flush()])
    assert streamed.shape == offline.shape
    np.testing.assert_allclose(streamed, offline, atol=1e-5)


def _renders():
    for name in sorted(CHARACTERS):
        for rate in (44100, 48000, 96000):
            yield name, rate


@pytest.fixture(scope="module")
def profiles():
    return load_profiles()


@pytest.mark.parametrize(("name", "rate"), list(_renders()))
def test_every_render_respects_ceiling_and_target(profiles, name, rate):
    x = render(replace(CHARACTERS[name], key_hz=CHARACTERS[name].key_hz * 0.97), 8.0, rate, seed=rate % 97)
    params = profiles[name].master
    out, report = master(x, rate, params, name)
    measured_tp = loudness.true_peak(out, rate)
    measured_lufs = loudness.integrated_loudness(out, rate)
    assert measured_tp <= params.ceiling_dbtp
    assert measured_lufs == pytest.approx(params.target_lufs, abs=0.5)
    assert report.target_reached
    assert report.true_peak_out_dbtp == pytest.approx(measured_tp, abs=1e-6)
    assert report.lufs_out == pytest.approx(measured_lufs, abs=0.05)


def test_hot_target_on_dense_material_still_respects_ceiling():
    rate = 44100
    x = render(CHARACTERS["live"], 8.0, rate, seed=9)  # crest ≈ 14 dB: −7 LUFS needs the limiter
    out, report = master(x, rate, MasterParams(target_lufs=-7.0, ceiling_dbtp=-1.0))
    assert loudness.true_peak(out, rate) <= -1.0
    assert report.max_reduction_db > 1.0


def test_silence_is_never_boosted():
    rate = 44100
    out, report = master(np.zeros((rate * 3, 2), np.float32), rate, MasterParams(bass_db=6, treble_db=6))
    assert not out.any()
    assert report.gain_db == 0.0
    assert not report.target_reached
    hum = (1e-5 * np.random.default_rng(0).standard_normal((rate * 3, 2))).astype(np.float32)  # −100 dBFS
    quiet, report = master(hum, rate, MasterParams())
    assert report.gain_db == 0.0
    assert np.abs(quiet).max() < 1e-3


def test_quiet_music_gain_is_capped():
    rate = 44100
    x = stereo(sine(1000, 5, rate, -50))
    _, report = master(x, rate, MasterParams(target_lufs=-14.0, max_gain_db=18.0))
    assert report.gain_db == pytest.approx(18.0)
    assert not report.target_reached


def test_mono_stays_mono_and_surround_folds():
    rate = 44100
    mono = sine(440, 3, rate, -20)[:, None].astype(np.float32)
    out, _ = master(mono, rate, MasterParams(width=0.5))
    assert out.shape == mono.shape
    surround = np.tile(mono, (1, 6))
    out, _ = master(surround, rate, MasterParams())
    assert out.shape == (len(mono), 2)


@pytest.mark.parametrize("rate", [8000, 192000])
def test_extreme_rates(rate):
    x = stereo(sine(440, 3, rate, -20))
    out, report = master(x, rate, MasterParams(treble_db=3.0, treble_hz=6000))
    assert np.isfinite(out).all()
    assert report.true_peak_out_dbtp <= -1.0
