"""The personal layer, pattern application and reference learning on real files."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest

from auralis_tui import feedback, learning, personal, profiles
from auralis_tui.synth import CHARACTERS, render
from engine import audio
from engine.errors import ProfileError
from engine.fingerprint import FEATURE_NAMES
from engine.model import MasterParams

KNOWN = {"studio", "metal", "bootleg"}


def test_layer_corrections_add_up_and_stay_in_bounds():
    layer = personal.Layer(
        adjust={"studio": {"bass_db": 0.4, "treble_db": -0.2}},
        brightness=10.0,  # +1 dB treble
        width=0.05,
        gear="bright_headphones",  # −1 dB treble
        hearing="bass_sensitive",  # −1 dB bass
    )
    base = MasterParams(bass_db=1.5, treble_db=2.0, width=0.1)
    result = personal.apply_to_parameters(layer, base, "studio")
    assert result.bass_db == pytest.approx(1.5 + 0.4 - 1.0)
    assert result.treble_db == pytest.approx(2.0 - 0.2 + 1.0 - 1.0)
    assert result.width == pytest.approx(0.15)
    other = personal.apply_to_parameters(layer, base, "metal")  # no [adjust.metal]
    assert other.bass_db == pytest.approx(0.5) and other.treble_db == pytest.approx(2.0)
    loud = personal.apply_to_parameters(personal.Layer(adjust={"x": {"bass_db": 6.0}}), MasterParams(bass_db=11.0), "x")
    assert loud.bass_db == 12.0  # clamped to PARAM_BOUNDS
    assert personal.apply_to_parameters(None, base, "studio") == base


def test_confidence_adjustment_moves_the_detection_threshold(tmp_path):
    profiles.seed(tmp_path)
    studio = profiles.load(tmp_path, "studio")
    adjusted = personal.apply_to_profile(personal.Layer(confidence_adjustment=0.1), studio)
    assert adjusted.min_confidence == pytest.approx(studio.min_confidence + 0.1)


def test_versions_history_diff_and_rollback(tmp_path):
    first = personal.save(tmp_path, {"gear": "dark_headphones"}, "new headphones", KNOWN)
    second = personal.save(tmp_path, {"adjust": {"studio": {"bass_db": 0.4}}}, "thin", KNOWN)
    assert (first.version, second.version, second.parent) == ("1.0", "1.1", "1.0")
    assert second.gear == "dark_headphones"  # settings carry over between versions
    assert personal.diff(tmp_path, "1.0", "1.1") == [("adjust.studio.bass_db", None, 0.4)]
    back = personal.rollback(tmp_path, None, KNOWN)
    assert back.version == "1.2" and back.adjust == {} and personal.current(tmp_path).version == "1.2"
    assert personal.versions(tmp_path) == ["1.0", "1.1", "1.2"]


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        ({"adjust": {"studio": {"bass_db": 9.0}}}, "bass_db = 9 outside"),
        ({"adjust": {"studio": {"ceiling_dbtp": 0.0}}}, "may only set"),
        ({"adjust": {"../../etc": {"bass_db": 1.0}}}, "not a known profile"),
        ({"adjust": {"nosuch": {"bass_db": 1.0}}}, "not a known profile"),
        ({"gear": "ear_trumpet"}, "gear must be one of"),
        ({"brightness": 80.0}, "brightness = 80 outside"),
        ({"volume": 3}, "unknown key"),
    ],
)
def test_invalid_layers_are_never_written(tmp_path, changes, fragment):
    personal.save(tmp_path, {"width": 0.1}, "start", KNOWN)
    with pytest.raises(ProfileError, match=fragment):
        personal.save(tmp_path, changes, "bad", KNOWN)
    assert personal.versions(tmp_path) == ["1.0"]


def test_export_and_import_of_a_shared_layer(tmp_path):
    mine, theirs = tmp_path / "mine", tmp_path / "theirs"
    personal.save(theirs, {"gear": "small_speakers", "adjust": {"metal": {"treble_db": -0.5}}}, "secret reason", KNOWN)
    shared = tmp_path / "shared.toml"
    personal.export_shared(theirs, shared)
    text = shared.read_text(encoding="utf-8")
    assert "secret reason" not in text and "created" not in text and "version" not in text
    personal.save(mine, {"adjust": {"studio": {"bass_db": 0.4}}}, "mine", KNOWN)
    imported = personal.import_shared(mine, shared, KNOWN)
    assert imported.version == "1.1" and imported.gear == "small_speakers"
    assert imported.adjust == {"metal": {"treble_db": -0.5}}  # theirs replace mine
    assert ("adjust.studio.bass_db", 0.4, None) in personal.diff(mine, "1.0", "1.1")
    assert personal.rollback(mine, None, KNOWN).adjust == {"studio": {"bass_db": 0.4}}


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ('gear = "none"\nreason = "x"\n', "unknown key"),
        ('[adjust."../profiles/studio"]\nbass_db = 1.0\n', "not a known profile"),
        ("[adjust.studio]\nbass_db = 40.0\n", "outside"),
        ("brightness = = 3\n", "invalid TOML"),
        ("width = nan\n", "must be a number"),
    ],
)
def test_import_refuses_bad_layers(tmp_path, text, fragment):
    source = tmp_path / "shared.toml"
    source.write_text(text, encoding="utf-8")
    with pytest.raises(ProfileError, match=fragment):
        personal.import_shared(tmp_path / "home", source, KNOWN)
    assert personal.versions(tmp_path / "home") == []


def test_import_refuses_huge_files(tmp_path):
    source = tmp_path / "big.toml"
    source.write_text("# " + "x" * personal.MAX_IMPORT_BYTES, encoding="utf-8")
    with pytest.raises(ProfileError, match="64 KB"):
        personal.import_shared(tmp_path / "home", source, KNOWN)


def _ratings(home: Path, comments: list[str], kind: str = "studio", layer: str | None = None) -> None:
    lines = [
        feedback.make_event(
            "rating", track_path=f"/m/{i}.flac", detected_type=kind, confidence=0.8,
            profile={"name": kind, "version": "2.0"}, parameters_applied={}, rating=4, comment=comment,
            personal_version=layer,
        )
        for i, comment in enumerate(comments)
    ]  # fmt: skip
    feedback.append(home, lines)


def test_apply_patterns_to_the_personal_layer_and_to_the_base(tmp_path):
    _ratings(tmp_path, ["too thin", "needs more bass", "thin", "fine", "lovely"])
    applied = learning.apply_patterns(tmp_path, "studio")
    assert applied.target == "personal layer" and applied.changes == [("bass_db", 0.0, 0.4)]
    assert '"thin" ×2' in applied.reason and "5 studio ratings" in applied.reason
    assert personal.current(tmp_path).adjust == {"studio": {"bass_db": 0.4}}
    with pytest.raises(ProfileError, match="under its current settings"):  # the same evidence counts once
        learning.apply_patterns(tmp_path, "studio")
    _ratings(tmp_path, ["still thin", "thin", "more bass", "ok", "ok"], layer=applied.version)
    again = learning.apply_patterns(tmp_path, "studio")  # new evidence, heard with the +0.4
    assert again.changes == [("bass_db", 0.4, 0.8)]
    _ratings(tmp_path / "base", ["too thin", "needs more bass", "thin", "fine", "lovely"])
    base = learning.apply_patterns(tmp_path / "base", "studio", to_base=True)
    assert base.target == "studio profile" and base.version == "2.1"
    assert profiles.load(tmp_path / "base", "studio").master.bass_db == pytest.approx(1.5 + 0.4)
    with pytest.raises(ProfileError, match="no pattern recommendations for metal"):
        learning.apply_patterns(tmp_path, "metal")


def auralis(*args: str, home: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "auralis_tui", "--home", str(home), *args], capture_output=True, text=True, timeout=300
    )


def test_master_and_rate_use_the_personal_layer_unless_told_not_to(tmp_path):
    track = tmp_path / "in.flac"
    audio.write(track, render(CHARACTERS["metal"], 6.0, 44100, seed=2), 44100)
    home = tmp_path / "home"
    profiles.seed(home)
    personal.save(home, {"hearing": "bass_sensitive"}, "ears", set(profiles.names(home)))
    with_layer = json.loads(auralis("master", str(track), str(tmp_path / "a.flac"), "--json", home=home).stdout)
    without = json.loads(
        auralis("master", str(track), str(tmp_path / "b.flac"), "--json", "--no-personal", home=home).stdout
    )
    assert with_layer["parameters"]["bass_db"] == pytest.approx(without["parameters"]["bass_db"] - 1.0)
    assert auralis("rate", str(track), "--rating", "4", home=home).returncode == 0
    (line,) = feedback.read_log(home).events
    assert line["personal_version"] == "1.0"
    assert line["parameters_applied"]["bass_db"] == pytest.approx(with_layer["parameters"]["bass_db"])


def test_cli_apply_patterns_and_personal_commands(tmp_path):
    _ratings(tmp_path, ["harsh", "too bright", "shrill", "ok", "ok"], kind="metal")
    done = auralis("update-profile", "metal", "--apply-patterns", "--to-base", home=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "treble_db" in done.stdout and "-0.250" in done.stdout
    assert profiles.load(tmp_path, "metal").reason.startswith("patterns from 5 metal ratings")
    assert auralis("update-profile", "studio", "--apply-patterns", home=tmp_path).returncode == 1
    assert auralis("personal", "set", "--gear", "dark_headphones", "--reason", "cans", home=tmp_path).returncode == 0
    shown = auralis("personal", "show", home=tmp_path)
    assert "dark_headphones" in shown.stdout and "treble_db +1.00" in shown.stdout


# --- reference learning ----------------------------------------------------------------------------


def test_combined_statistics_are_exact(rng):
    parts = [rng.normal(3.0, 2.0, n) for n in (7, 1, 30)]
    combined = learning.Stats.of([])
    for part in parts:
        combined = combined.combine(learning.Stats.of(part))
    union = np.concatenate(parts)
    assert combined.count == union.size
    assert combined.mean == pytest.approx(union.mean(), abs=1e-12)
    assert combined.m2 / combined.count == pytest.approx(union.var(), rel=1e-12)


def test_learning_folds_references_into_exact_statistics(tmp_path):
    home = tmp_path / "home"
    first, second = tmp_path / "refs1", tmp_path / "refs2"
    for folder, seeds in ((first, (1, 2, 3)), (second, (4, 5, 6))):
        folder.mkdir()
        for seed in seeds:
            audio.write(folder / f"{seed}.flac", render(CHARACTERS["metal"], 5.0, 22050, seed=seed), 22050)
    (second / "broken.flac").write_bytes(b"nope")
    before = profiles.load(home, "metal")
    one = learning.learn(home, "metal", first)
    assert one.files == 3 and one.version.version == "2.1"
    assert profiles.load(home, "metal").rules == before.rules  # 3 < 5 references: ranges untouched
    two = learning.learn(home, "metal", second)
    assert two.files == 3 and [p for p, _ in two.errors] == [str(second / "broken.flac")]
    data = tomllib.loads((home / "profiles" / "metal" / "2.2.toml").read_text(encoding="utf-8"))
    references = data["detect"]["references"]
    assert len(references) == 6
    for name in ("air", "lufs", "stereo_width"):
        values = np.array([ref[name] for ref in references])
        stats = data["detect"]["stats"][name]
        assert stats["count"] == 6
        assert stats["mean"] == pytest.approx(values.mean(), abs=1e-5)  # references are rounded to 1e-6
        assert stats["m2"] / 6 == pytest.approx(values.var(), rel=1e-3, abs=1e-9)
    after = profiles.load(home, "metal")
    widened = []
    for old, new in zip(before.rules, after.rules, strict=True):  # mean ± 3σ (population) of the six, or wider
        values = np.array([ref[old.feature] for ref in references])
        low, high = values.mean() - 3 * values.std(), values.mean() + 3 * values.std()
        assert new.low == pytest.approx(min(old.low, low), rel=1e-6, abs=1e-5)
        assert new.high == pytest.approx(max(old.high, high), rel=1e-6, abs=1e-5)
        if (new.low, new.high) != (old.low, old.high):
            widened.append(old.feature)
    assert widened, "the references moved no range"
    assert set(references[0]) == set(FEATURE_NAMES)
    assert two.detected_as_type == 3
