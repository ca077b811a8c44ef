"""Start-up as a budget: the heavy packages each command may import, checked in a real process.

A whole-process start is mostly imports (numpy, DuckDB, scipy, textual each cost a multiple of a
bare interpreter), so a command that grows a new import chain fails here instead of in a shell.
`bench/cli.py` measures the resulting times.
"""

from __future__ import annotations

import importlib
import itertools
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from scipy import stats

from auralis_tui import abtest, cli
from auralis_tui.synth import CHARACTERS, render
from engine import audio

HEAVY = {"numpy", "scipy", "duckdb", "textual", "tomlkit", "soundfile", "sounddevice", "mutagen", "multiprocessing"}

#: Command → the heavy packages it may import (everything else in HEAVY is over budget).
BUDGETS: dict[tuple[str, ...], set[str]] = {
    ("--version",): set(),
    ("--help",): set(),
    ("profiles", "list"): set(),
    ("profiles", "show", "studio"): set(),
    ("profiles", "diff", "studio@1.0", "studio@1.1"): set(),
    ("profiles", "history", "studio"): set(),
    ("personal", "history"): set(),
    ("abtest", "status"): set(),
    ("sql", "SELECT count(*) FROM tracks"): {"duckdb"},
    ("analyze", "--all-types"): {"duckdb"},
    ("rate", "{track}", "--rating", "4"): {"duckdb"},  # a scanned track: no decoding
    ("fingerprint", "{track}"): {"numpy", "scipy", "soundfile"},
}

PROBE = """
import atexit, json, sys
atexit.register(lambda: print(json.dumps(sorted({name.split('.')[0] for name in sys.modules})), file=sys.stderr))
from auralis_tui.cli import main
sys.exit(main(sys.argv[1:]))
"""


def imported(home: Path, *argv: str) -> set[str]:
    """The top-level packages loaded by ``auralis ARGV``, which must succeed."""
    env = {**os.environ, "AURALIS_HOME": str(home)}
    result = subprocess.run([sys.executable, "-c", PROBE, *argv], capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr
    return set(json.loads(result.stderr.splitlines()[-1]))


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Path:
    """A home with a scanned track, a rating and a second studio version."""
    home = tmp_path_factory.mktemp("startup")
    music = home / "music"
    music.mkdir()
    audio.write(music / "track.flac", render(CHARACTERS["studio"], 6, 44100, seed=4), 44100)
    run = [sys.executable, "-m", "auralis_tui", "--home", str(home)]
    for argv in (["scan", str(music), "--jobs", "1"], ["update-profile", "studio", "--bass", "1", "--reason", "x"]):
        done = subprocess.run([*run, *argv], capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
    return home


@pytest.mark.parametrize("argv", list(BUDGETS), ids=" ".join)
def test_command_imports_stay_within_budget(home, argv):
    track = str(home / "music" / "track.flac")
    loaded = imported(home, *(arg.format(track=track) for arg in argv))
    assert not (loaded & HEAVY) - BUDGETS[argv], f"over budget: {sorted((loaded & HEAVY) - BUDGETS[argv])}"


def test_the_probe_sees_heavy_imports(home):
    """The probe can fail: the app itself imports textual."""
    code = PROBE.replace("from auralis_tui.cli import main", "import auralis_tui.ui.app\nmain = lambda argv: 0")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert "textual" in json.loads(result.stderr.splitlines()[-1])


def test_user_errors_are_real_exception_classes():
    for module, name in cli.USER_ERRORS:
        assert issubclass(getattr(importlib.import_module(module), name), Exception), (module, name)


@pytest.mark.parametrize(("t", "df"), itertools.product([0.0, 0.3, 1.0, 1.96, 3.5, -8.0, 40.0], [1, 2.5, 7, 30, 1e4]))
def test_student_t_p_value_without_scipy(t, df):
    """abtest's light p-value (no scipy.stats import in analyze/rate) agrees with scipy's."""
    assert abtest.t_two_sided(t, df) == pytest.approx(2 * stats.t.sf(abs(t), df), rel=1e-9, abs=1e-300)
