"""Start-up as a budget: the heavy packages each command may import, checked in a real process.

A whole-process start is mostly imports (numpy, DuckDB, scipy, textual each cost a multiple of a
bare interpreter), so a command that grows a new import chain fails here instead of in a shell.
`bench/cli.py` measures the resulting times.
"""

from __future__ import annotations

import argparse
import importlib
import itertools
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from scipy import stats

from auralis_tui import abtest, cli, feedback
from auralis_tui.commands import GROUPS
from auralis_tui.synth import CHARACTERS, render
from engine import audio

#: ``duckdb`` is the package's Python layer (~4x a bare start on its own), ``_duckdb`` its compiled core.
HEAVY = {"numpy", "scipy", "duckdb", "_duckdb", "textual", "tomlkit", "soundfile", "sounddevice", "mutagen",
         "multiprocessing"}  # fmt: skip

#: Command → the heavy packages it may import (everything else in HEAVY is over budget).
BUDGETS: dict[tuple[str, ...], set[str]] = {
    ("--version",): set(),
    ("--help",): set(),
    ("profiles", "list"): set(),
    ("profiles", "show", "studio"): set(),
    ("profiles", "diff", "studio@2.0", "studio@2.1"): set(),
    ("profiles", "history", "studio"): set(),
    ("personal", "history"): set(),
    ("abtest", "status"): set(),
    ("sql", "SELECT count(*) FROM tracks"): {"_duckdb"},
    ("analyze", "--all-types"): {"_duckdb"},
    ("rate", "{track}", "--rating", "4"): {"_duckdb"},  # a scanned track: no decoding
    ("fingerprint", "{track}"): {"numpy", "soundfile"},
}

PROBE = """
import atexit, json, sys
atexit.register(lambda: print(json.dumps(sorted(sys.modules)), file=sys.stderr))
from auralis_tui.cli import main
sys.exit(main(sys.argv[1:]))
"""


def modules(home: Path, *argv: str) -> set[str]:
    """The modules loaded by ``auralis ARGV``, which must succeed."""
    env = {**os.environ, "AURALIS_HOME": str(home)}
    result = subprocess.run([sys.executable, "-c", PROBE, *argv], capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr
    return set(json.loads(result.stderr.splitlines()[-1]))


def imported(home: Path, *argv: str) -> set[str]:
    """The top-level packages loaded by ``auralis ARGV``."""
    return {name.split(".")[0] for name in modules(home, *argv)}


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


@pytest.mark.parametrize("argv", [("sql", "SELECT 1"), ("rate", "{track}", "--rating", "4"), ("profiles", "list")],
                         ids=" ".join)  # fmt: skip
def test_a_command_loads_only_its_own_command_module(home, argv):
    track = str(home / "music" / "track.flac")
    loaded = {name for name in modules(home, *(arg.format(track=track) for arg in argv)) if ".commands." in name}
    assert loaded == {"auralis_tui.commands.common", f"auralis_tui.commands.{argv[0]}"}


def test_user_queries_read_the_log_on_one_duckdb_instance(home):
    """A user query over a database that holds the whole log opens one DuckDB instance (the shared
    in-memory one is never created); a line the database lacks is ingested first."""
    probe = (
        "import sys, _duckdb\nfrom auralis_tui import store\nconnects = []\nplain = _duckdb.connect\n"
        "_duckdb.connect = lambda *a, **k: connects.append(a) or plain(*a, **k)\n"
        "rows = store.run_user_query(store.Path(sys.argv[1]), 'SELECT count(*) FROM ratings').rows\n"
        "print(len(connects), rows[0][0])"
    )

    def instances_and_ratings() -> tuple[int, int]:
        done = subprocess.run([sys.executable, "-c", probe, str(home)], capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        return tuple(map(int, done.stdout.split()))

    _, before = instances_and_ratings()
    assert instances_and_ratings() == (1, before)
    studio = {"name": "studio", "version": "2.0"}
    line = feedback.make_event(
        "rating", track_path="/m/x.flac", detected_type="studio", confidence=0.9, profile=studio,
        parameters_applied={}, rating=4,
    )  # fmt: skip
    feedback.append(home, line)
    assert instances_and_ratings() == (3, before + 1)  # a look, the in-memory instance ingesting, the query
    assert instances_and_ratings() == (1, before + 1)


def test_the_command_table_names_what_each_group_registers():
    """``commands.GROUPS`` (which module a command word loads) agrees with the parsers themselves."""
    for module, names in GROUPS.items():
        parser = argparse.ArgumentParser()
        subparsers = parser.add_subparsers()
        importlib.import_module(f"auralis_tui.commands.{module}").register(subparsers)
        assert tuple(subparsers.choices) == names, module


@pytest.mark.parametrize(
    ("argv", "word"),
    [(["sql", "x"], "sql"), (["--home", "rate", "sql"], "sql"), (["--no-audio"], None), (["--home=d", "scan"], "scan")],
)
def test_the_command_word_skips_top_level_options(argv, word):
    assert cli.command_word(argv) == word


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


def test_the_app_loads_neither_the_database_nor_the_engine_before_its_first_frame():
    """What ``auralis`` imports before Textual draws: only textual of the heavy packages (DuckDB,
    numpy and the profiles are loaded by workers; an attached app's library comes from its server)."""
    code = (
        "import json, sys\nimport auralis_tui.cli, auralis_tui.commands.app, auralis_tui.ui.app\n"
        "print(json.dumps(sorted(sys.modules)))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    loaded = {name.split(".")[0] for name in json.loads(result.stdout)}
    assert loaded & (HEAVY | {"engine"}) == {"textual"}
