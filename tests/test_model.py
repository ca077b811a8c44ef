"""The profile schema: shipped values, validation with clear errors."""

from __future__ import annotations

import pytest

from engine.model import PARAM_BOUNDS, MasterParams, ProfileError, check_bounds, load_profile, load_profiles

KNOWN = {
    "studio_hd_bright": {"bass_db": 1.5, "treble_db": 2.0},
    "studio": {"bass_db": 1.5, "treble_db": 2.0},
    "metal": {"bass_db": 3.85, "treble_db": -1.22, "width": 0.35},
    "bootleg": {"bass_db": -4.0, "treble_db": 4.0, "width": 0.20},
}


def test_shipped_profiles_start_from_the_known_values():
    profiles = load_profiles()
    for name, values in KNOWN.items():
        assert profiles[name].version == "2.0"
        for key, value in values.items():
            assert getattr(profiles[name].master, key) == pytest.approx(value)
        assert profiles[name].master.ceiling_dbtp == -1.0


def test_every_shipped_range_is_commented():
    from engine.model import SHIPPED_PROFILES_DIR

    for path in SHIPPED_PROFILES_DIR.glob("*.toml"):
        lines = path.read_text(encoding="utf-8").splitlines()
        for i, line in enumerate(lines):
            if line.startswith("[detect.features."):
                assert lines[i - 1].startswith("#"), f"{path.name}: {line} lacks a comment on its derivation"


def test_invalid_toml_names_file_and_line(tmp_path):
    path = tmp_path / "broken.toml"
    path.write_text('name = "x"\nversion = "1.0"\n[master\nbass_db = 1\n', encoding="utf-8")
    with pytest.raises(ProfileError) as info:
        load_profile(path)
    assert "broken.toml" in str(info.value)
    assert "line 3" in str(info.value)


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ('name = "x"\n', "missing required key 'version'"),
        ('name = "x"\nversion = "1"\n[master]\nbass_db = 40\n', "bass_db = 40 outside [-12, 12]"),
        ('name = "x"\nversion = "1"\n[master]\nloud = 1\n', "unknown key(s) loud"),
        ('name = "x"\nversion = "1"\n[master]\nbass_db = "lots"\n', "must be a number"),
        ('name = "x"\nversion = "1"\n[detect.features.vibes]\nrange = [0, 1]\n', "unknown feature 'vibes'"),
        ('name = "x"\nversion = "1"\n[detect.features.lufs]\nrange = [-5, -20]\n', "low -5.0 > high -20.0"),
        ('name = "x"\nversion = "1"\n[detect]\nmin_confidence = 2\n', "min_confidence"),
    ],
)
def test_schema_errors_are_specific(tmp_path, body, fragment):
    path = tmp_path / "p.toml"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(ProfileError) as info:
        load_profile(path)
    assert fragment in str(info.value)


def test_bounds_cover_every_parameter():
    assert set(PARAM_BOUNDS) == set(MasterParams().as_dict())
    check_bounds(MasterParams())
    with pytest.raises(ProfileError, match="ceiling_dbtp"):
        check_bounds(MasterParams(ceiling_dbtp=0.5))


def test_engine_imports_do_not_pay_for_scipy():
    # scipy.signal costs 0.8–2.3 s to import; commands that never touch audio must not pay it.
    import subprocess
    import sys

    script = (
        "import sys, engine, engine.detect, engine.model, engine.fingerprint, engine.master, engine.loudness\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'scipy'))"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
