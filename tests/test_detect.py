"""Recording-type detection: driven by profile data, explainable, honest about doubt."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from auralis_tui.synth import CHARACTERS, render
from engine.detect import UNKNOWN, detect, rule_score
from engine.fingerprint import fingerprint
from engine.model import FeatureRule, load_profiles

from conftest import sine, stereo

REQUIRED_TYPES = {"studio_hd_bright", "studio", "metal", "bootleg", "live"}


@pytest.fixture(scope="module")
def profiles():
    return load_profiles()


@pytest.fixture(scope="module")
def rendered():
    """Fingerprints of each synthesized character at two rates (20 s each)."""
    out = {}
    for name, character in CHARACTERS.items():
        for rate, seed in ((44100, 21), (96000, 22)):
            variant = replace(character, key_hz=character.key_hz * 1.03)
            out[(name, rate)] = fingerprint(render(variant, 20, rate, seed=seed), rate)
    return out


def test_shipped_types(profiles):
    assert set(profiles) >= REQUIRED_TYPES
    assert profiles["studio_hd_bright"].title == "HD Bright Transparent"
    assert all(p.min_confidence == pytest.approx(0.65) for p in profiles.values())


@pytest.mark.parametrize("name", sorted(CHARACTERS))
@pytest.mark.parametrize("rate", [44100, 96000])
def test_each_character_is_recognised(profiles, rendered, name, rate):
    result = detect(rendered[(name, rate)], profiles)
    assert result.type == name, result.scores
    assert result.confidence >= 0.65
    assert set(result.scores) == {n for n, p in profiles.items() if p.detectable}
    assert result.missed() == [] or result.confidence < 1.0
    assert set(result.matched()) | set(result.missed()) == {r.feature for r in profiles[name].rules}


def test_threshold_is_profile_data(profiles, rendered):
    fp = rendered[("metal", 44100)]
    assert detect(fp, profiles).type == "metal"
    strict = {name: replace(p, min_confidence=1.01) for name, p in profiles.items()}
    result = detect(fp, strict)
    assert result.type == UNKNOWN
    assert result.best_profile == "metal"  # the evidence still says what came closest


def test_ranges_are_profile_data(profiles, rendered):
    fp = rendered[("live", 44100)]
    narrowed = dict(profiles)
    live = profiles["live"]
    narrowed["live"] = replace(live, rules=tuple(replace(r, low=r.high + 10, high=r.high + 20) for r in live.rules))
    assert detect(fp, narrowed).type != "live"


@pytest.mark.parametrize("dbfs", [-3.0, -20.0])
def test_pure_tone_is_unknown(profiles, dbfs):
    fp = fingerprint(stereo(sine(1000, 5, 44100, dbfs)), 44100)
    result = detect(fp, profiles)
    assert result.type == UNKNOWN
    assert result.confidence < 0.65


def test_rule_score_falls_off_linearly():
    rule = FeatureRule("crest_db", 10.0, 20.0)
    assert rule_score(rule, 15.0) == 1.0
    assert rule_score(rule, 7.5) == pytest.approx(0.5)  # half the tolerance (5 dB) outside
    assert rule_score(rule, 25.0) == 0.0
    assert np.isfinite(rule_score(FeatureRule("air", 0.0, 0.0), 0.1))
