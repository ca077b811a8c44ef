"""Hostile input, faults and full disks, tried as an adversarial user would: every probe runs the
real `auralis` in a subprocess on a corpus the test generates, and asserts the exit code, exactly
one line on stderr, no traceback, and the feedback log's lines before and after."""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from auralis_tui import feedback, store
from engine import audio

from conftest import sine, stereo

GOOD = {"schema": 1, "id": "x", "timestamp": "2026-01-02T03:04:05.000006Z", "event": "rating", "rating": 3}


def auralis(
    home: Path, *args: str, limit_bytes: int | None = None, timeout: float = 120
) -> subprocess.CompletedProcess:
    """Run the CLI; ``limit_bytes`` caps the size of any file it writes (a full disk, for real)."""

    def cap() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the cap fails with EFBIG
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit_bytes, limit_bytes))

    return subprocess.run(
        [sys.executable, "-m", "auralis_tui", "--home", str(home), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "AURALIS_HOME": ""},
        preexec_fn=cap if limit_bytes else None,
    )


def one_line(result: subprocess.CompletedProcess, code: int, *words: str) -> str:
    """The probe's verdict: this exit code, exactly one stderr line naming ``words``, no traceback."""
    lines = result.stderr.strip().splitlines()
    assert "Traceback" not in result.stderr, result.stderr
    assert len(lines) == 1, result.stderr
    assert result.returncode == code, (result.returncode, result.stderr)
    for word in words:
        assert word.lower() in lines[0].lower(), lines[0]
    return lines[0]


def log_lines(home: Path) -> list[bytes]:
    path = feedback.log_path(home)
    return path.read_bytes().splitlines() if path.exists() else []


@pytest.fixture
def track(tmp_path) -> Path:
    path = tmp_path / "music" / "tone.flac"
    path.parent.mkdir(parents=True)
    audio.write(path, stereo(sine(440, 3.0, 44100, -12.0)), 44100)
    return path


@pytest.fixture
def home(tmp_path) -> Path:
    return tmp_path / "home"


# --- the log first, always ------------------------------------------------------------------------


HOLD = """
import sys, time, duckdb
con = duckdb.connect(sys.argv[1])
open(sys.argv[2], "w").close()
time.sleep(600)
"""


def test_a_rating_is_saved_while_another_process_holds_the_database(home, track, tmp_path):
    assert auralis(home, "rate", str(track), "--rating", "3").returncode == 0
    before = log_lines(home)
    ready = tmp_path / "holding"
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(home / store.DB_NAME), str(ready)])
    try:
        while not ready.exists():
            assert holder.poll() is None
            time.sleep(0.05)
        started = time.monotonic()
        result = auralis(home, "rate", str(track), "--rating", "5", "--comment", "more bass")
        seconds = time.monotonic() - started
    finally:
        holder.kill()
        holder.wait()
    one_line(result, 0, "busy", "catches up")
    after = log_lines(home)
    assert after[:-1] == before and json.loads(after[-1])["rating"] == 5
    assert seconds < 20  # not the 30 s busy timeout, twice
    assert auralis(home, "sql", "SELECT count(*) AS n FROM ratings").stdout.split()[2] == "2"  # caught up


def test_a_damaged_database_is_set_aside_and_rebuilt_from_the_log(home, track):
    for stars in ("2", "4"):
        assert auralis(home, "rate", str(track), "--rating", stars).returncode == 0
    before = log_lines(home)
    database = home / store.DB_NAME
    with open(database, "r+b") as handle:  # one overwritten block
        handle.seek(3 * 4096)
        handle.write(os.urandom(4096))
    one_line(auralis(home, "rate", str(track), "--rating", "5"), 0, "could not be read", "rebuilt")
    assert log_lines(home)[:-1] == before and len(log_lines(home)) == 3
    assert list(home.glob(f"{store.DB_NAME}.unreadable-*"))
    result = auralis(home, "sql", "SELECT count(*) AS n FROM ratings")
    assert result.returncode == 0 and result.stdout.split()[2] == "3" and not result.stderr


def test_a_full_disk_leaves_no_torn_line_and_says_so_in_one_line(home, track):
    assert auralis(home, "rate", str(track), "--rating", "3").returncode == 0
    padding = dict(GOOD, comment="x" * 4000)
    with open(feedback.log_path(home), "a") as handle:  # the log outgrows every other file
        for n in range(300):
            handle.write(json.dumps(dict(padding, id=f"pad{n}")) + "\n")
    assert auralis(home, "analyze").returncode == 0  # ingested: the next run has nothing to copy
    before = feedback.log_path(home).read_bytes()
    result = auralis(home, "rate", str(track), "--rating", "4", "--comment", "y" * 3000, limit_bytes=len(before) + 500)
    one_line(result, 1, "not written")
    assert feedback.log_path(home).read_bytes() == before
    assert not [p.name for p in feedback.log_path(home).parent.iterdir() if p.name.startswith(".")]


# --- one validator ----------------------------------------------------------------------------

CHANGES = [
    {}, {"rating": 4.0}, {"rating": "4"}, {"rating": True}, {"rating": 0}, {"rating": 6}, {"rating": 10**30},
    {"rating": None}, {"confidence": 1}, {"confidence": 1.0000001}, {"confidence": "0.5"}, {"confidence": -0.0},
    {"track": 5}, {"track": ["x"]}, {"comment": {"a": 1}}, {"profile": "studio"}, {"profile": {"name": 3}},
    {"profile": {"name": "s", "version": "1.0"}}, {"parameters_applied": {"bass_db": "x"}},
    {"parameters_applied": {"bass_db": 1e13}}, {"parameters_applied": []}, {"fingerprint": {"lufs": -14}},
    {"fingerprint": {"lufs": None}}, {"fingerprint": {}}, {"fix": {"parameter": 1}},
    {"event": "accept", "rating": None}, {"event": "accept"}, {"event": "reject", "rating": None, "fix": "x"},
    {"event": "modify", "rating": None, "fix": {"parameter": "bass_db"}},
    {"event": "modify", "rating": None, "fix": {"parameter": "bass_db", "delta": 0.5}},
    {"event": "undo", "rating": None, "fix": None}, {"event": "Rating"}, {"event": 1},
    {"timestamp": "2026-01-02"}, {"timestamp": "2026-13-02T03:04:05Z"}, {"timestamp": "2026-01-02T24:00:00Z"},
    {"timestamp": "2026-01-02T03:04:05+00:00"}, {"timestamp": "2026-01-02T03:04:05+02:00"},
    {"timestamp": "0999-01-02T03:04:05Z"}, {"timestamp": "2026-02-30T03:04:05Z"},
    {"timestamp": "2026-01-02T03:04:60Z"}, {"schema": 2}, {"schema": "1"}, {"schema": 1.0}, {"schema": True},
    {"heard": "original"}, {"heard": "mastered"}, {"heard": "both"}, {"heard": None}, {"heard": 1},
    {"variant": 1}, {"refers_to": None}, {"fix": {"delta": "1"}},
]
_PREFIX = b'{"id":"x","timestamp":"2026-01-02T03:04:05Z","event":"rating","rating":3'
RAW = [
    _PREFIX + b',"confidence":NaN}', _PREFIX + b',"fix":{"delta":Infinity}}', _PREFIX + b',"fingerprint":{"a":1e999}}',
    b"[1,2]", b'"text"', b"3", b"null", b"{not json", b"\xff\xfe{}", _PREFIX + b',"comment":"\xff"}',
    _PREFIX + b',"rating":"x"}', _PREFIX + b',"track":"a\\u0000b"}', _PREFIX + b"}" + b" " * 10,
    _PREFIX.replace(b'"x"', b'""') + b"}", _PREFIX.replace(b'"x"', b"5") + b"}",
]  # fmt: skip


def hostile_corpus() -> list[bytes]:
    lines = [json.dumps({**GOOD, **change, "id": f"c{n}"}).encode() for n, change in enumerate(CHANGES)]
    return lines + [line.replace(b'"id":"x"', b'"id":"r%d"' % n) for n, line in enumerate(RAW)]


def test_ingest_and_the_python_readers_refuse_exactly_the_same_lines(tmp_path):
    lines = hostile_corpus()
    log = feedback.log_path(tmp_path)
    log.parent.mkdir(parents=True)
    log.write_bytes(b"\n".join(lines) + b"\n")
    valid = {event["id"] for event in feedback.stream_events(log) if event is not None}
    skipped = store.sync_feedback(tmp_path)
    with store.connect(tmp_path, read_only=True) as con:
        ingested = {row[0] for row in con.execute("SELECT id FROM feedback_events").fetchall()}
    assert ingested == valid
    assert skipped == len(lines) - len(valid)
    assert {"c0", "c8", "c11", "c17", "c21", "c23", "c25", "c29", "c30", "c36", "c45", "c46", "c48"} <= valid
    assert not {"c1", "c2", "c3", "c9", "c10", "c12", "c15", "c27", "c28", "c35", "c47", "r0", "r1", "r2"} & valid


def test_sparse_and_odd_lines_never_crash_the_readers(home):
    home.mkdir()
    log = feedback.log_path(home)
    log.parent.mkdir(parents=True)
    log.write_bytes(b"\n".join(hostile_corpus()) + b"\n")
    (home / "config.toml").write_text("sharing = true\n")
    export = ["export", "--anonymized", str(home / "x.json")]
    commands = (["analyze"], ["analyze", "--json", "--monthly-summary"], export)
    for args in commands:
        result = auralis(home, *args)
        assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    before = log_lines(home)
    result = auralis(home, "forget", "--older-than", "2026-01-01")
    assert result.returncode == 0 and log_lines(home) == before  # nothing older; invalid lines are kept as they were


def test_nan_never_reaches_the_log(home, track):
    assert auralis(home, "rate", str(track), "--rating", "4").returncode == 0
    before = log_lines(home)
    one_line(auralis(home, "rate", str(track), "--event", "modify", "--parameter", "bass_db", "--delta", "nan"), 1,
             "finite")  # fmt: skip
    with pytest.raises(feedback.FeedbackError):
        feedback.append(home, dict(GOOD, extra=float("inf")))
    assert log_lines(home) == before
    assert all(b"NaN" not in line and b"Infinity" not in line for line in before)


# --- writers never overwrite what they must not ------------------------------------------------


def test_writers_refuse_the_log_a_profile_and_their_own_input(home, track):
    assert auralis(home, "rate", str(track), "--rating", "4").returncode == 0
    assert auralis(home, "sharing", "on").returncode == 0
    before = log_lines(home)
    profile = next((home / "profiles").glob("*/1.0.toml"))
    kept = profile.read_bytes()
    one_line(auralis(home, "export", "--anonymized", str(feedback.log_path(home))), 1, "input")
    one_line(auralis(home, "export", "--anonymized", str(profile)), 1, "own data")
    assert auralis(home, "personal", "set", "--width", "0.1", "--reason", "test").returncode == 0
    one_line(auralis(home, "personal", "export", str(profile)), 1, "own data")
    link = track.with_name("link.flac")
    link.symlink_to(track)
    source = track.read_bytes()
    for target in (track, link):
        one_line(auralis(home, "master", str(track), str(target)), 1, "input")
    assert log_lines(home) == before and profile.read_bytes() == kept and track.read_bytes() == source


def test_an_export_on_a_full_disk_leaves_no_temporary_file(home, track, tmp_path):
    assert auralis(home, "rate", str(track), "--rating", "4").returncode == 0
    assert auralis(home, "sharing", "on").returncode == 0
    with open(feedback.log_path(home), "a") as handle:
        for n in range(2000):
            handle.write(json.dumps(dict(GOOD, id=f"pad{n}", fingerprint={f"f{k}": k / 7 for k in range(25)})) + "\n")
    before = log_lines(home)
    out = tmp_path / "out"
    out.mkdir()
    result = auralis(home, "export", "--anonymized", str(out / "x.json"), limit_bytes=64 * 1024)
    one_line(result, 1, "x.json")
    assert list(out.iterdir()) == [] and log_lines(home) == before
