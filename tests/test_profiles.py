"""The versioned profile store on a real directory of TOML files (and a real git repository)."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from dataclasses import replace
from pathlib import Path

import pytest
import tomlkit

from auralis_tui import personal, profiles, versioned
from auralis_tui.synth import CHARACTERS, render
from engine.errors import ProfileError
from engine.fingerprint import fingerprint
from engine.loudness import integrated_loudness
from engine.master import master
from engine.model import SHIPPED_PROFILES_DIR, MasterParams

from reference_dsp import true_peak_16x_dbtp


def test_store_is_seeded_from_the_shipped_profiles(tmp_path):
    shipped = sorted(p.stem for p in SHIPPED_PROFILES_DIR.glob("*.toml"))
    assert profiles.names(tmp_path) == shipped
    for name in shipped:
        assert profiles.current_version(tmp_path, name) == "2.0"
        copy = tmp_path / "profiles" / name / "2.0.toml"
        assert copy.read_bytes() == (SHIPPED_PROFILES_DIR / f"{name}.toml").read_bytes()


def test_update_writes_a_new_validated_version_and_keeps_comments(tmp_path):
    result = profiles.update(tmp_path, "studio", {"bass_db": 2.0, "width": 0.1}, "ratings say thin")
    assert (result.parent, result.version) == ("2.0", "2.1")
    assert [(c.key, c.old, c.new) for c in result.changes] == [
        ("master.bass_db", 1.5, 2.0),
        ("master.width", 0.0, 0.1),
    ]
    text = result.path.read_text(encoding="utf-8")
    data = tomllib.loads(text)
    assert (data["version"], data["parent"], data["reason"]) == ("2.1", "2.0", "ratings say thin")
    assert data["created"].endswith("Z")
    assert "# Little air" in text  # the derivation comments survive
    assert profiles.current_version(tmp_path, "studio") == "2.1"
    assert profiles.load(tmp_path, "studio").master.bass_db == 2.0
    second = profiles.update(tmp_path, "studio", {"treble_db": 1.0}, "harsh")
    assert (second.parent, second.version) == ("2.1", "2.2")


def test_versions_sort_numerically():
    assert sorted(["1.10", "1.9", "1.2"], key=versioned.version_key) == ["1.2", "1.9", "1.10"]
    assert versioned.next_version("1.9") == "1.10"


def test_a_failing_version_is_never_written(tmp_path):
    profiles.seed(tmp_path)
    before = sorted(p.name for p in (tmp_path / "profiles" / "studio").iterdir())
    with pytest.raises(ProfileError, match=r"bass_db = 30 outside \[-12, 12\]"):
        profiles.update(tmp_path, "studio", {"bass_db": 30.0}, "too much")
    with pytest.raises(ProfileError, match="reason"):
        profiles.update(tmp_path, "studio", {"bass_db": 2.0}, "  ")
    with pytest.raises(ProfileError, match="cannot change"):
        profiles.update(tmp_path, "studio", {"ceiling_dbtp": 0.0}, "louder")
    assert sorted(p.name for p in (tmp_path / "profiles" / "studio").iterdir()) == before
    assert profiles.current_version(tmp_path, "studio") == "2.0"


def test_dry_run_validates_without_writing(tmp_path):
    result = profiles.update(tmp_path, "metal", {"bass_db": 4.0}, "check", dry_run=True)
    assert result.path is None and result.version == "2.1"
    assert profiles.versions(tmp_path, "metal") == ["2.0"]


def _add_reference(home: Path, name: str, character: str) -> None:
    """Store the fingerprint of a synthesized reference in the current version's [detect]."""
    path = home / "profiles" / name / f"{profiles.current_version(home, name)}.toml"
    document = tomlkit.parse(path.read_text(encoding="utf-8"))
    values = fingerprint(render(CHARACTERS[character], 8.0, 44100, seed=3), 44100).as_dict()
    reference = tomlkit.table()
    reference.update(values)
    references = tomlkit.aot()
    references.append(reference)
    document["detect"]["references"] = references
    path.write_text(tomlkit.dumps(document), encoding="utf-8")


def test_validation_keeps_reference_detections(tmp_path):
    profiles.seed(tmp_path)
    _add_reference(tmp_path, "metal", "metal")
    metal = profiles.load(tmp_path, "metal")
    assert len(metal.references) == 1
    profiles.validate(tmp_path, replace(metal, version="2.1"))  # unchanged detection: accepted
    blind = replace(metal, version="2.1", rules=())  # a metal profile that recognises nothing
    with pytest.raises(ProfileError, match="metal reference would be detected as"):
        profiles.validate(tmp_path, blind)


@pytest.mark.parametrize("character", ["studio", "metal", "bootleg"])
def test_extreme_settings_still_render_under_the_ceiling(tmp_path, character):
    """The validator accepts the most extreme settings because the chain holds them: measured on the
    rendered audio (16× band-limited true peak, BS.1770 loudness), not taken from the chain's report."""
    profiles.seed(tmp_path)
    loud = replace(
        profiles.load(tmp_path, "studio"),
        version="2.1",
        master=MasterParams(bass_db=12.0, treble_db=12.0, width=1.0, target_lufs=-6.0, ceiling_dbtp=-1.0),
    )
    profiles.validate(tmp_path, loud)  # no ProfileError
    out, _ = master(render(CHARACTERS[character], 8.0, 44100, seed=3), 44100, loud.master)
    assert true_peak_16x_dbtp(out) <= loud.master.ceiling_dbtp + 0.01
    assert integrated_loudness(out, 44100) > -10.0  # held by limiting peaks, not by turning everything down


def test_diff_lists_every_changed_key_with_its_delta(tmp_path):
    profiles.update(tmp_path, "bootleg", {"bass_db": -3.0, "treble_db": 3.5}, "less drastic")
    _, _, changes = profiles.diff(tmp_path, "bootleg@2.0", "bootleg@2.1")
    assert {c.key: round(c.delta, 6) for c in changes} == {"master.bass_db": 1.0, "master.treble_db": -0.5}
    assert profiles.diff(tmp_path, "bootleg@2.0", "bootleg@2.0")[2] == []
    _, _, across = profiles.diff(tmp_path, "studio@2.0", "metal@2.0")
    assert any(c.key.startswith("detect.") for c in across)


def test_rollback_is_a_new_version_and_history_stays(tmp_path):
    profiles.update(tmp_path, "live", {"width": 0.3}, "wider")
    profiles.update(tmp_path, "live", {"width": 0.4}, "wider still")
    folder = tmp_path / "profiles" / "live"
    before = {p.name: p.read_bytes() for p in folder.glob("*.toml")}
    result = profiles.rollback(tmp_path, "live", to="2.0")
    assert (result.parent, result.version) == ("2.2", "2.3")
    assert profiles.current_version(tmp_path, "live") == "2.3"
    assert profiles.load(tmp_path, "live").master == profiles.load(tmp_path, "live", "2.0").master
    assert {p.name: p.read_bytes() for p in folder.glob("*.toml") if p.name in before} == before
    assert [p.reason for p in profiles.history(tmp_path, "live")][-1] == "rollback to 2.0"
    default = profiles.rollback(tmp_path, "live")  # to the parent of 2.3, i.e. 2.2
    assert profiles.load(tmp_path, "live").master.width == pytest.approx(0.4)
    assert default.version == "2.4"
    with pytest.raises(ProfileError, match=r"no version 9\.9"):
        profiles.rollback(tmp_path, "live", to="9.9")


def test_changes_are_committed_when_the_store_is_a_git_work_tree(tmp_path, monkeypatch):
    root = profiles.seed(tmp_path)
    git = ["git", "-C", str(root)]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "-c", "user.name=t", "-c", "user.email=t@x", "add", "-A"], check=True)
    for key in ("GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL"):
        monkeypatch.setenv(key, "t@x" if key.endswith("EMAIL") else "t")
    result = profiles.update(tmp_path, "studio", {"bass_db": 1.8}, "a touch more bass")
    assert result.committed
    log = subprocess.run([*git, "log", "--format=%s"], capture_output=True, text=True, check=True).stdout
    assert log.splitlines()[0] == "studio 2.1: a touch more bass"
    assert not profiles.update(tmp_path / "elsewhere", "studio", {"bass_db": 1.8}, "no git").committed


def test_hand_broken_current_version_names_file_and_line_and_falls_back(tmp_path):
    profiles.update(tmp_path, "vintage", {"treble_db": 1.0}, "brighter")
    broken = tmp_path / "profiles" / "vintage" / "2.1.toml"
    broken.write_text(broken.read_text(encoding="utf-8") + "\nbass_db = = 3\n", encoding="utf-8")
    warnings: list[str] = []
    current = profiles.current_profiles(tmp_path, warn=warnings.append)
    assert current["vintage"].version == "2.0"
    assert "2.1.toml" in warnings[0] and "line" in warnings[0]
    result = auralis("profiles", "show", "vintage", home=tmp_path)
    assert result.returncode == 1 and "2.1.toml" in result.stderr and "line" in result.stderr


def test_a_hand_broken_current_version_is_rolled_back_to_the_one_in_use(tmp_path):
    """Rolling back is the way out of a broken current version: by default to the version played
    instead; the broken file stays (its history lists the rest and names it)."""
    profiles.update(tmp_path, "vintage", {"treble_db": 1.0}, "brighter")
    broken = tmp_path / "profiles" / "vintage" / "2.1.toml"
    broken.write_text(broken.read_text(encoding="utf-8") + "\nbass_db = = 3\n", encoding="utf-8")
    done = auralis("profiles", "rollback", "vintage", home=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "new version 2.2 (rollback to 2.0), was 2.1" in done.stdout
    assert profiles.load(tmp_path, "vintage").master == profiles.load(tmp_path, "vintage", "2.0").master
    history = auralis("profiles", "history", "vintage", home=tmp_path)
    assert history.returncode == 0 and "* 2.2" in history.stdout and "2.1.toml" in history.stderr
    assert "Traceback" not in done.stderr + history.stderr


def auralis(*args: str, home: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "auralis_tui", "--home", str(home), *args], capture_output=True, text=True, timeout=120
    )


def test_cli_update_diff_history_rollback(tmp_path):
    done = auralis("update-profile", "studio", "--bass", "2.5", "--reason", "thin", home=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "2.0 → 2.1" in done.stdout and "+1.500 → +2.500" in done.stdout
    refused = auralis("update-profile", "studio", "--treble", "40", "--reason", "x", home=tmp_path)
    assert refused.returncode == 1 and "treble_db = 40 outside" in refused.stderr
    assert "Traceback" not in refused.stderr
    diff = auralis("profiles", "diff", "studio@2.0", "studio@2.1", home=tmp_path)
    assert "master.bass_db" in diff.stdout and "+1" in diff.stdout
    history = auralis("profiles", "history", "studio", home=tmp_path)
    assert "* 2.1" in history.stdout and "thin" in history.stdout
    rolled = auralis("profiles", "rollback", "studio", home=tmp_path)
    assert rolled.returncode == 0 and "2.2" in rolled.stdout
    assert auralis("profiles", "show", "nosuch", home=tmp_path).returncode == 1
    assert auralis("update-profile", "studio", "--reason", "nothing", home=tmp_path).returncode == 1


def _old_base_home(home: Path) -> None:
    """A home seeded by an earlier release: every type at base 1.0 (other detection ranges),
    studio edited by its user to 1.1 (+1 dB bass), and a personal layer."""
    for shipped in SHIPPED_PROFILES_DIR.glob("*.toml"):
        document = tomlkit.parse(shipped.read_text(encoding="utf-8"))
        document["version"], document["reason"] = "1.0", "Base model shipped with Auralis"
        if "detect" in document:
            document["detect"]["min_confidence"] = 0.5  # stands for ranges on older feature definitions
        versioned.VersionFolder(home / "profiles" / shipped.stem, shipped.stem).add("1.0", tomlkit.dumps(document))
    studio = tomlkit.parse((home / "profiles" / "studio" / "1.0.toml").read_text(encoding="utf-8"))
    studio["master"]["bass_db"] = float(studio["master"]["bass_db"]) + 1.0
    versioned.stamp(studio, "1.1", "1.0", "ratings say thin")
    versioned.VersionFolder(home / "profiles" / "studio", "studio").add("1.1", tomlkit.dumps(studio))
    personal.save(home, {"adjust": {"studio": {"treble_db": 0.5}}}, "mine", {"studio"})


def test_a_home_on_an_older_base_gets_the_new_base_as_a_new_version(tmp_path):
    _old_base_home(tmp_path)
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    names = profiles.names(tmp_path)  # any command seeds, and upgrades
    assert names == sorted(p.stem for p in SHIPPED_PROFILES_DIR.glob("*.toml"))
    assert all(p.read_bytes() == data for p, data in before.items() if p.name != "CURRENT")  # nothing rewritten
    shipped = profiles.load_profile(SHIPPED_PROFILES_DIR / "studio.toml")
    studio = profiles.load(tmp_path, "studio")
    assert profiles.versions(tmp_path, "studio") == ["1.0", "1.1", "2.0"]
    assert (studio.version, studio.parent) == ("2.0", "1.1")
    assert studio.rules == shipped.rules and studio.min_confidence == shipped.min_confidence  # the new ranges
    old = profiles.load(tmp_path, "studio", "1.1")
    assert studio.master == replace(shipped.master, bass_db=old.master.bass_db)  # the user's change kept
    assert "base model 2.0" in studio.reason and "bass_db" in studio.reason and "1.1" in studio.reason
    metal = profiles.load(tmp_path, "metal")
    shipped_metal = profiles.load_profile(SHIPPED_PROFILES_DIR / "metal.toml")
    assert (metal.version, metal.parent, metal.master) == ("2.0", "1.0", shipped_metal.master)
    assert personal.current(tmp_path).deltas("studio") == {"treble_db": 0.5}  # the personal layer as it was
    assert profiles.rollback(tmp_path, "studio", to="1.1").version == "2.1"  # the old state is one rollback away
    again = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    profiles.names(tmp_path)
    assert {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()} == again  # once only


def test_shipped_profiles_carry_the_base_version():
    for shipped in SHIPPED_PROFILES_DIR.glob("*.toml"):
        assert profiles.load_profile(shipped).version == profiles.BASE_VERSION, shipped.name
