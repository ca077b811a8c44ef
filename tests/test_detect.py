"""Recording-type detection: driven by profile data, explainable, abstaining when unsure.

Ground truth comes from what a recording went through, not from the ranges: a full-band stereo
mix is degraded here the way an audience tape (band-limited, near-mono, crowd noise) or an old
mono record (narrow band, hiss) degrades it, and the detector must tell which happened.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from scipy import signal

from auralis_tui.synth import CHARACTERS, render
from engine.detect import UNKNOWN, detect, rule_score
from engine.fingerprint import FEATURE_NAMES, Fingerprint, fingerprint
from engine.model import FeatureRule, MasterParams, Profile, load_profiles

from conftest import sine, stereo

REQUIRED_TYPES = {"studio_hd_bright", "studio", "metal", "bootleg", "live"}
RATE = 44100


@pytest.fixture(scope="module")
def profiles():
    return load_profiles()


def _band(x: np.ndarray, low: float, high: float) -> np.ndarray:
    return signal.sosfilt(signal.butter(4, [low, high], "bandpass", fs=RATE, output="sos"), x, axis=0)


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(x**2)))


def audience_tape(x: np.ndarray, rng) -> np.ndarray:
    """What a cassette in the crowd hears: near-mono, 150–3400 Hz, murmur and hiss, 10 dB down."""
    y = _band(0.9 * x.mean(axis=1, keepdims=True) + 0.1 * x, 150, 3400)
    murmur = _band(rng.standard_normal(y.shape), 300, 3000)
    y = y + 0.3 * _rms(y) / _rms(murmur) * murmur + 0.01 * _rms(y) * rng.standard_normal(y.shape)
    return (0.3 * y / np.abs(y).max()).astype(np.float32)


def mono_record(x: np.ndarray, rng) -> np.ndarray:
    """An old mono record: one channel, 90–5000 Hz, tape hiss."""
    y = _band(x.mean(axis=1, keepdims=True), 90, 5000)
    y = y + 0.02 * _rms(y) * rng.standard_normal(y.shape)
    return (0.9 * y / np.abs(y).max()).astype(np.float32)


@pytest.fixture(scope="module")
def masters():
    """Full-band stereo mixes (20 s) of different characters, as a studio would deliver them."""
    return {name: render(CHARACTERS[name], 20, RATE, seed=31) for name in ("studio_hd_bright", "studio", "metal")}


def test_shipped_types(profiles):
    assert set(profiles) >= REQUIRED_TYPES
    assert profiles["studio_hd_bright"].title == "HD Bright Transparent"


@pytest.mark.parametrize("source", ["studio_hd_bright", "studio", "metal"])
def test_full_band_stereo_masters_are_never_bootleg_or_vintage(profiles, masters, source):
    result = detect(fingerprint(masters[source], RATE), profiles)
    assert result.type not in ("bootleg", "vintage"), result.scores


@pytest.mark.parametrize("source", ["studio_hd_bright", "studio", "metal"])
def test_an_audience_tape_of_a_master_is_a_bootleg(profiles, masters, source):
    tape = audience_tape(masters[source], np.random.default_rng(1))
    result = detect(fingerprint(tape, RATE), profiles)
    assert result.type == "bootleg", (result.scores, result.reason, result.rules())


@pytest.mark.parametrize("source", ["studio_hd_bright", "studio", "metal"])
def test_a_mono_record_of_a_master_is_vintage(profiles, masters, source):
    record = mono_record(masters[source], np.random.default_rng(2))
    result = detect(fingerprint(record, RATE), profiles)
    assert result.type == "vintage", (result.scores, result.reason, result.rules())


def test_threshold_is_profile_data(profiles, masters):
    fp = fingerprint(audience_tape(masters["studio"], np.random.default_rng(3)), RATE)
    assert detect(fp, profiles).type == "bootleg"
    strict = {name: replace(p, min_confidence=1.01) for name, p in profiles.items()}
    result = detect(fp, strict)
    assert result.type == UNKNOWN
    assert result.best_profile == "bootleg"  # the evidence still says what came closest
    assert "confidence" in result.reason


def test_ranges_are_profile_data(profiles, masters):
    fp = fingerprint(mono_record(masters["studio"], np.random.default_rng(4)), RATE)
    narrowed = dict(profiles)
    vintage = profiles["vintage"]
    moved = tuple(replace(r, low=r.high + 10, high=r.high + 20) for r in vintage.rules)
    narrowed["vintage"] = replace(vintage, rules=moved)
    assert detect(fp, narrowed).type != "vintage"


@pytest.mark.parametrize("dbfs", [-3.0, -20.0])
def test_pure_tone_is_unknown(profiles, dbfs):
    fp = fingerprint(stereo(sine(1000, 5, RATE, dbfs)), RATE)
    result = detect(fp, profiles)
    assert result.type == UNKNOWN
    assert result.reason


# --- abstention, on hand-made profiles and fingerprints ------------------------------------

NEUTRAL = Fingerprint.from_dict(dict.fromkeys(FEATURE_NAMES, 0.0))


def _profile(name: str, rules: dict[str, tuple[float, float]], **master: float) -> Profile:
    return Profile(name, name, "1.0", tuple(FeatureRule(f, lo, hi) for f, (lo, hi) in rules.items()),
                   MasterParams(**master))  # fmt: skip


def _fp(**values: float) -> Fingerprint:
    return replace(NEUTRAL, **values)


def test_no_profile_wins_with_rules_only_nearly_matched():
    # every value just outside its range: the old linear fall-off scored this 0.9 and let it win
    bright = _profile("bright", {"crest_db": (10, 20), "lufs": (-20, -10), "tempo_bpm": (100, 140)})
    result = detect(_fp(crest_db=9.5, lufs=-9.5, tempo_bpm=142), {"bright": bright})
    assert result.type == UNKNOWN
    assert result.confidence > 0.65 and result.matched() == []
    assert "rules matched" in result.reason


def test_energy_shares_compare_on_a_log_scale():
    air = FeatureRule("air", 0.005, 0.06)
    assert rule_score(air, 0.02) == 1.0
    assert rule_score(air, 0.005 / 6) == 0.0  # six times too little air is no match at all
    assert 0.0 < rule_score(air, 0.004) < 1.0
    assert rule_score(air, 0.004) == pytest.approx(1 - np.log10(0.005 / 0.004) / (0.25 * np.log10(0.06 / 0.005)))


def test_linear_rules_fall_to_zero_a_quarter_range_outside():
    rule = FeatureRule("crest_db", 10.0, 20.0)
    assert rule_score(rule, 15.0) == 1.0
    assert rule_score(rule, 8.75) == pytest.approx(0.5)
    assert rule_score(rule, 7.5) == 0.0
    assert np.isfinite(rule_score(FeatureRule("crest_db", 5.0, 5.0), 6.0))


def test_a_close_runner_up_means_unknown():
    rules = {"crest_db": (10, 20), "lufs": (-20, -10), "tempo_bpm": (100, 140)}
    one, two = _profile("one", rules), _profile("two", {**rules, "tempo_bpm": (90, 141)})
    result = detect(_fp(crest_db=15, lufs=-15, tempo_bpm=120), {"one": one, "two": two})
    assert result.type == UNKNOWN and "runner-up" in result.reason
    alone = detect(_fp(crest_db=15, lufs=-15, tempo_bpm=120), {"one": one})
    assert alone.type == "one" and alone.reason == ""


def test_a_strong_eq_needs_stronger_evidence():
    rules = {"crest_db": (10, 20), "lufs": (-20, -10), "tempo_bpm": (100, 140), "silence_ratio": (0.0, 0.1)}
    fp = _fp(crest_db=15, lufs=-15, tempo_bpm=150, silence_ratio=0.2)  # two of four rules missed
    gentle = detect(fp, {"p": _profile("p", rules, bass_db=1.0)})
    strong = detect(fp, {"p": _profile("p", rules, bass_db=-4.0, treble_db=4.0)})
    assert gentle.type == UNKNOWN  # 2 of 4 matched: below two thirds anyway
    assert strong.type == UNKNOWN
    fp = _fp(crest_db=15, lufs=-15, tempo_bpm=145, silence_ratio=0.05)  # one rule missed, score 0.875
    assert detect(fp, {"p": _profile("p", rules, bass_db=1.0)}).type == "p"
    assert detect(fp, {"p": _profile("p", rules, bass_db=-4.0)}).type == "p"
    fp = _fp(crest_db=15, lufs=-15, tempo_bpm=150, silence_ratio=0.05)  # one missed by far: score 0.75
    assert detect(fp, {"p": _profile("p", rules, bass_db=1.0)}).type == "p"
    strong = detect(fp, {"p": _profile("p", rules, treble_db=3.0)})
    assert strong.type == UNKNOWN and "strong EQ" in strong.reason


def test_the_verdict_lists_matched_and_missed_rules_with_values():
    rules = {"crest_db": (10, 20), "lufs": (-20, -10), "tempo_bpm": (100, 140)}
    result = detect(_fp(crest_db=15, lufs=-15, tempo_bpm=150), {"p": _profile("p", rules)})
    listed = result.rules()
    assert [r["feature"] for r in listed["matched"]] == ["crest_db", "lufs"]
    assert listed["missed"] == [{"feature": "tempo_bpm", "value": 150.0, "low": 100.0, "high": 140.0, "matched": False}]
