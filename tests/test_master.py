"""The mastering chain: filter responses, streaming = offline, ceiling and loudness promises."""

from __future__ import annotations

import warnings
from dataclasses import replace

import numpy as np
import pytest
from scipy import signal

from auralis_tui.synth import CHARACTERS, render
from engine import audio, loudness
from engine.fingerprint import fingerprint
from engine.master import (
    SAFETY_DB,
    LimiterTiming,
    StreamingMaster,
    apply_width,
    design_eq,
    limiter_gain,
    master,
    steady_state,
    write_render,
)
from engine.model import MasterParams, load_profiles

from conftest import sine, stereo
from reference_dsp import tone_amplitude, true_peak_16x_dbtp


def measured_gain_db(sos: np.ndarray, freq: float, rate: int) -> float:
    """Filter a real sine and compare steady-state RMS (first half discarded as transient)."""
    x = sine(freq, 2.0, rate, -20)
    y = signal.sosfilt(sos, x)
    half = len(x) // 2
    return 20 * np.log10(np.sqrt(np.mean(y[half:] ** 2)) / np.sqrt(np.mean(x[half:] ** 2)))


def eq_gain_db(params: MasterParams, freq: float, rate: int) -> float:
    """Gain of the EQ stages alone: the chain's response over that of the flat chain (its high-pass)."""
    flat = measured_gain_db(design_eq(MasterParams(), rate), freq, rate)
    return measured_gain_db(design_eq(params, rate), freq, rate) - flat


@pytest.mark.parametrize("rate", [44100, 48000])
@pytest.mark.parametrize("gain", [6.0, -6.0])
def test_shelves_and_peak_measure_their_gain(rate, gain):
    bass = design_eq(MasterParams(bass_db=gain, bass_hz=100), rate)
    assert eq_gain_db(MasterParams(bass_db=gain, bass_hz=100), 15, rate) == pytest.approx(gain, abs=0.2)
    assert measured_gain_db(bass, 3000, rate) == pytest.approx(0.0, abs=0.2)  # far outside
    treble = design_eq(MasterParams(treble_db=gain, treble_hz=3000), rate)
    assert measured_gain_db(treble, 18000, rate) == pytest.approx(gain, abs=0.2)
    assert measured_gain_db(treble, 100, rate) == pytest.approx(0.0, abs=0.2)
    mid = design_eq(MasterParams(mid_db=gain, mid_hz=1000), rate)
    assert measured_gain_db(mid, 1000, rate) == pytest.approx(gain, abs=0.2)  # at the centre
    assert eq_gain_db(MasterParams(mid_db=gain, mid_hz=1000), 30, rate) == pytest.approx(0.0, abs=0.2)


def test_flat_parameters_are_transparent_above_the_subsonic_high_pass():
    sos = design_eq(MasterParams(), 44100)
    for freq in (100, 1000, 15000):
        assert measured_gain_db(sos, freq, 44100) == pytest.approx(0.0, abs=0.01)
    assert measured_gain_db(sos, 20, 44100) == pytest.approx(-3.0, abs=0.2)  # 2nd-order Butterworth corner
    assert measured_gain_db(sos, 5, 44100) < -20.0


def test_dc_offset_is_removed_before_eq_and_limiter():
    # A DC offset must not be lifted by the low shelf into gain reduction (seen on real masters).
    rate = 44100
    music = render(CHARACTERS["live"], 8.0, rate, seed=6)
    params = load_profiles()["studio"].master  # +1.5 dB low shelf
    clean, clean_report = master(music, rate, params)
    offset, report = master(music + np.float32(0.3), rate, params)
    tail = offset[rate:]  # after the high-pass settles
    assert np.abs(tail.mean(axis=0)).max() < 1e-3
    assert report.max_reduction_db < clean_report.max_reduction_db + 0.5
    assert loudness.integrated_loudness(offset, rate) == pytest.approx(params.target_lufs, abs=0.5)
    np.testing.assert_allclose(tail, clean[rate:], atol=0.02)


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
    sos = design_eq(params, rate)
    filtered, _ = signal.sosfilt(sos, x.astype(np.float64), axis=0, zi=steady_state(sos, x[0]))
    offline = apply_width(filtered, params.width)
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
    # The rendered output is measured: true peak by independent 16× band-limited interpolation,
    # loudness by the BS.1770 meter — never the chain's own report.
    x = render(replace(CHARACTERS[name], key_hz=CHARACTERS[name].key_hz * 0.97), 8.0, rate, seed=rate % 97)
    params = profiles[name].master
    out, report = master(x, rate, params, name)
    assert true_peak_16x_dbtp(out) <= params.ceiling_dbtp
    assert loudness.playback_loudness(out, rate) == pytest.approx(params.target_lufs, abs=0.5)
    assert report.target_reached


@pytest.mark.parametrize("rate", [22050, 44100, 48000])
@pytest.mark.parametrize("treble_db", [0.0, 4.0])
def test_bright_material_near_nyquist_keeps_the_ceiling(rate, treble_db):
    # Noise bursts band-limited to 0.45·fs, where a short interpolator reads peaks several dB low
    # (at 22.05 kHz that is 10 kHz, inside the music), plus a tone at 0.43·fs. A hot target
    # forces limiting. The engine's interpolator is specified flat to 0.45·fs, as are DACs'.
    rng = np.random.default_rng(rate)
    bursts = rng.standard_normal((6 * rate, 2)) * np.repeat(rng.uniform(0.05, 0.5, (60, 1)), rate // 10, axis=0)
    spectrum = np.fft.rfft(bursts, axis=0)
    spectrum[np.fft.rfftfreq(len(bursts), 1 / rate) > 0.45 * rate] = 0
    music = (np.fft.irfft(spectrum, len(bursts), axis=0) + stereo(sine(0.43 * rate, 6, rate, -12))).astype(np.float32)
    params = MasterParams(treble_db=treble_db, treble_hz=3000, target_lufs=-8.0, ceiling_dbtp=-1.0)
    out, report = master(music, rate, params)
    assert report.max_reduction_db > 1.0
    assert true_peak_16x_dbtp(out) <= -1.0


def test_hot_target_on_dense_material_still_respects_ceiling():
    rate = 44100
    x = render(CHARACTERS["live"], 8.0, rate, seed=9)  # crest ≈ 14 dB: −7 LUFS needs the limiter
    out, report = master(x, rate, MasterParams(target_lufs=-7.0, ceiling_dbtp=-1.0))
    assert true_peak_16x_dbtp(out) <= -1.0
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


def test_mono_is_mastered_as_loud_as_its_stereo_duplicate():
    # Rule: a mono file plays on both speakers, so it is as loud as its stereo duplicate there.
    rate = 44100
    music = render(CHARACTERS["vintage"], 6.0, rate, seed=2)
    assert music.shape[1] == 1
    params = MasterParams(width=0.5, target_lufs=-16.0)
    mono_out, _ = master(music, rate, params)
    stereo_out, _ = master(np.repeat(music, 2, axis=1), rate, params)
    assert mono_out.shape == music.shape
    np.testing.assert_allclose(mono_out[:, 0], stereo_out[:, 0], atol=1e-5)
    np.testing.assert_allclose(mono_out[:, 0], stereo_out[:, 1], atol=1e-5)
    assert loudness.integrated_loudness(stereo_out, rate) == pytest.approx(-16.0, abs=0.5)
    assert loudness.integrated_loudness(mono_out, rate) == pytest.approx(-16.0 - 3.01, abs=0.5)  # one channel


def test_surround_folds_to_stereo_by_channel_content():
    # Each of L, R, C, LFE, Ls, Rs carries its own tone; the fold must put L + (C, Ls, Rs at −3 dB)
    # on the left, R + the same on the right, and drop the LFE (ITU-R BS.775).
    rate, seconds = 48000, 2
    tones = {"L": 300.0, "R": 500.0, "C": 700.0, "LFE": 60.0, "Ls": 900.0, "Rs": 1100.0}
    surround = np.stack([sine(f, seconds, rate, -30) for f in tones.values()], axis=1).astype(np.float32)
    out, _ = master(surround, rate, MasterParams(target_lufs=-30.0))
    assert out.shape == (len(surround), 2)
    body = slice(rate // 2, None)  # past the high-pass settling
    left = {name: tone_amplitude(out[body, 0], f, rate) for name, f in tones.items()}
    right = {name: tone_amplitude(out[body, 1], f, rate) for name, f in tones.items()}
    for own, other, side in (("L", "R", left), ("R", "L", right)):
        assert side[other] < 1e-3 * side[own]
        assert side["LFE"] < 1e-3 * side[own]
        for shared in ("C", "Ls", "Rs"):
            assert 20 * np.log10(side[shared] / side[own]) == pytest.approx(-3.01, abs=0.1)


def test_surround_input_loudness_is_that_of_the_stereo_fold_it_masters():
    """The report's input loudness is the fold's on a stereo pair — what the chain works on and the
    listener hears, and the fingerprint's figure — not the 5.1 programme's (0.7 LU apart here)."""
    rate = 48000
    surround = np.stack([sine(f, 3, rate, -30) for f in (300, 500, 700, 60, 900, 1100)], axis=1).astype(np.float32)
    _, report = master(surround, rate, MasterParams(target_lufs=-30.0))
    assert report.lufs_in == pytest.approx(loudness.playback_loudness(audio.to_stereo(surround), rate), abs=0.01)
    assert report.lufs_in == pytest.approx(fingerprint(surround, rate).lufs, abs=0.05)


@pytest.mark.parametrize("rate", [8000, 192000])
def test_extreme_rates(rate):
    x = stereo(sine(440, 3, rate, -20))
    out, _ = master(x, rate, MasterParams(treble_db=3.0, treble_hz=6000))
    assert np.isfinite(out).all()
    assert true_peak_16x_dbtp(out) <= -1.0


@pytest.mark.parametrize(
    ("target", "max_gain", "limits"),
    [(-30.0, 12.0, False), (-7.0, 12.0, True), (-14.0, 3.0, False)],  # quiet, limiting hard, idle near the ceiling
)
def test_report_states_the_measured_true_peak(target, max_gain, limits):
    # The report derives the output's true peak from the limiter's envelope where the limiter is
    # idle; it must equal a full measurement of the output (and the independent 16× reference).
    rate = 44100
    x = render(CHARACTERS["live"], 6.0, rate, seed=5)
    out, report = master(x, rate, MasterParams(target_lufs=target, max_gain_db=max_gain, ceiling_dbtp=-1.0))
    assert report.true_peak_out_dbtp == pytest.approx(loudness.true_peak(out, rate), abs=0.001)
    assert report.true_peak_out_dbtp == pytest.approx(true_peak_16x_dbtp(out), abs=0.15)
    assert (report.max_reduction_db > 0) == limits
    if limits:  # the limiter put the peaks at its aim, no emergency trim below it
        assert report.true_peak_out_dbtp == pytest.approx(-1.0 - SAFETY_DB, abs=0.05)


def test_limiter_on_silence_and_denormals_warns_nothing():
    envelope = np.array([0.0, 1e-45, 1e-40, 0.5], np.float32)  # 0.9 / 1e-45 overflows float32
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        gain = limiter_gain(envelope, 1.0, 0.9, LimiterTiming.at(44100))
    np.testing.assert_array_equal(gain, 1.0)


@pytest.mark.parametrize("suffix", [".opus", ".mp3"])
def test_a_lossy_render_holds_the_ceiling_as_decoded(tmp_path, suffix):
    # The codec lifts peaks above the PCM it is given; the file, decoded as a player would,
    # must still hold the ceiling, and the report must state what the file holds.
    rate = 48000
    x = render(CHARACTERS["studio_hd_bright"], 4.0, rate, seed=3)
    out, report = master(x, rate, MasterParams(target_lufs=-8.0, ceiling_dbtp=-1.0, treble_db=3.0))
    plain = tmp_path / f"plain{suffix}"
    audio.write(plain, out, rate)
    assert true_peak_16x_dbtp(audio.decode(plain).samples) > -1.0  # the codec alone goes over
    written = write_render(tmp_path / f"out{suffix}", out, rate, report)
    decoded = audio.decode(tmp_path / f"out{suffix}").samples
    assert true_peak_16x_dbtp(decoded) <= -1.0
    assert written.true_peak_out_dbtp == pytest.approx(true_peak_16x_dbtp(decoded), abs=0.15)
    assert written.lufs_out == pytest.approx(loudness.playback_loudness(decoded, rate), abs=0.2)
