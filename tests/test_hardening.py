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

import numpy as np
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
    assert seconds < store.BUSY_TIMEOUT_SECONDS  # it waited the short rating timeout, not the busy one (load-proof)
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
    profile = next((home / "profiles").glob("*/2.0.toml"))
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


# --- settings and profiles ---------------------------------------------------------------------


def test_settings_are_type_checked_and_a_quoted_false_never_shares(home, track, tmp_path):
    home.mkdir()
    config = home / "config.toml"
    out = tmp_path / "x.json"
    for text, words in (
        ('sharing = "false"\n', ("sharing", "true or false")),
        ("library_roots = 5\n", ("library_roots",)),
        ("audio_device = [1]\n", ("audio_device",)),
    ):
        config.write_text(text)
        one_line(auralis(home, "export", "--anonymized", str(out)), 1, "config.toml", *words)
    config.write_bytes(b"sharing = true\n# caf\xe9\n")
    one_line(auralis(home, "export", "--anonymized", str(out)), 1, "not UTF-8")
    assert not out.exists() and log_lines(home) == []


@pytest.mark.parametrize(
    "damage",
    [
        lambda text: text.replace("bass_db = ", "bass_db = nan #"),
        lambda text: text.split("[master]")[0],  # no [master] table
        lambda text: "",
        lambda text: text + "\nbass_db = = 3\n",
    ],
    ids=["nan", "no-master", "empty", "syntax"],
)
def test_a_broken_current_profile_is_reported_with_the_version_used(home, track, damage):
    assert auralis(home, "update-profile", "studio", "--bass", "2.5", "--reason", "test").returncode == 0
    current = home / "profiles" / "studio" / "2.1.toml"
    current.write_text(damage(current.read_text()))
    for kind in os.listdir(home / "profiles"):  # whichever type the tone is, it is the broken one
        if kind != "studio" and (home / "profiles" / kind / "CURRENT").exists():
            (home / "profiles" / kind / "CURRENT").write_text("9.9\n")  # names a missing version
    result = auralis(home, "profiles", "list")
    assert result.returncode == 0 and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == len(os.listdir(home / "profiles"))  # one line per type
    assert "studio 2.1 is broken, using 2.0" in result.stderr and "no version 9.9" in result.stderr
    assert "2.1" not in [line.split()[1] for line in result.stdout.splitlines()[2:-1] if line.startswith("studio")]
    result = auralis(home, "rate", str(track), "--rating", "3")
    assert result.returncode == 0 and "is broken, using 2.0" in result.stderr and "Traceback" not in result.stderr
    (line,) = log_lines(home)
    assert json.loads(line)["profile"]["version"] == "2.0"


def test_deeply_nested_or_binary_toml_is_one_line(home, tmp_path):
    assert auralis(home, "personal", "set", "--width", "0.1", "--reason", "start").returncode == 0
    nested = tmp_path / "nested.toml"
    nested.write_text("width = " + "[" * 5000 + "]" * 5000 + "\n")
    one_line(auralis(home, "personal", "import", str(nested)), 1, "nested.toml")
    binary = tmp_path / "binary.toml"
    binary.write_bytes(b"width = 0.1\n\xff\xfe\n")
    one_line(auralis(home, "personal", "import", str(binary)), 1, "not UTF-8")


# --- the database follows the log, whatever happens to the log ---------------------------------


def _ingested(home: Path) -> int:
    store.sync_feedback(home)
    with store.connect(home, read_only=True) as con:
        return con.execute("SELECT count(*) FROM feedback_events").fetchone()[0]


def test_ingest_notices_a_log_rewritten_in_place(tmp_path):
    log = feedback.log_path(tmp_path)
    log.parent.mkdir(parents=True)
    log.write_text("".join(json.dumps(dict(GOOD, id=f"a{n}")) + "\n" for n in range(10)))
    assert _ingested(tmp_path) == 10
    inode = log.stat().st_ino
    with open(log, "r+") as handle:  # same inode, larger: an editor saving in place
        handle.write("".join(json.dumps(dict(GOOD, id=f"b{n}", comment="longer")) + "\n" for n in range(12)))
    assert log.stat().st_ino == inode
    assert _ingested(tmp_path) == 12


def test_a_giant_line_is_skipped_and_counted_not_fatal(home):
    home.mkdir()
    log = feedback.log_path(home)
    log.parent.mkdir(parents=True)
    giant = json.dumps(dict(GOOD, id="giant", comment="harsh " * (3 * feedback.MAX_LINE_BYTES // 6)))
    log.write_text(json.dumps(dict(GOOD, id="a")) + "\n" + giant + "\n" + json.dumps(dict(GOOD, id="b")) + "\n")
    started = time.monotonic()
    result = auralis(home, "analyze", "--json")
    assert result.returncode == 0 and not result.stderr
    assert json.loads(result.stdout)["skipped_lines"] == 1
    assert time.monotonic() - started < 30
    assert [e and e["id"] for e in feedback.stream_events(log)] == ["a", None, "b"]


def test_a_huge_comment_is_cut_to_4_kb_and_said_so(home, track):
    started = time.monotonic()
    result = auralis(home, "rate", str(track), "--rating", "2", "--comment", "harsh " * 16_000)
    one_line(result, 0, "cut", "4096")
    assert time.monotonic() - started < 30
    (line,) = log_lines(home)
    assert len(json.loads(line)["comment"].encode()) <= feedback.COMMENT_LIMIT


def test_a_4_kb_comment_is_matched_in_linear_time():
    from auralis_tui import patterns

    def seconds(text: str) -> float:
        started = time.process_time()
        patterns.find_mentions(text)
        return time.process_time() - started

    small, large = ("harsh " * 700)[:512], ("harsh " * 700)[:4096]
    assert min(seconds(large) for _ in range(5)) < 0.02  # ~4 ms of CPU here; 97 ms before
    assert min(seconds(large) for _ in range(5)) < 20 * min(seconds(small) for _ in range(5))  # 8× the text, not 64×


# --- auralis sql: bounded, interruptible, and safe to print ------------------------------------


def test_a_runaway_query_is_capped_and_stopped_within_its_limits(home):
    assert auralis(home, "analyze").returncode == 0
    result = auralis(home, "sql", "SELECT * FROM range(10000000000)")
    assert one_line(result, 0, str(store.USER_ROW_CAP))
    assert result.stdout.count("\n") == store.USER_ROW_CAP + 3  # header, rule, rows, count
    started = time.monotonic()
    one_line(auralis(home, "sql", "SELECT sum(range) FROM range(1000000000000)"), 1, "time limit")
    assert time.monotonic() - started < store.USER_SECONDS + 15
    one_line(auralis(home, "sql", "SELECT list(range) FROM range(2000000000)"), 1, "stopped")
    peak = subprocess.run(  # a fresh parent, so RUSAGE_CHILDREN holds only these queries
        [sys.executable, "-c", MEASURE, str(home), "SELECT * FROM range(10000000000)",
         "SELECT list(range) FROM range(2000000000)"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert int(peak.stdout) < 500 * 1024, peak  # kB


MEASURE = """
import resource, subprocess, sys
for query in sys.argv[2:]:
    subprocess.run([sys.executable, "-m", "auralis_tui", "--home", sys.argv[1], "sql", query], capture_output=True)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""


def test_ctrl_c_stops_a_query_with_exit_130_and_one_line(home):
    assert auralis(home, "analyze").returncode == 0
    endless = "SELECT sum(range) FROM range(1000000000000)"
    query = subprocess.Popen(
        [sys.executable, "-m", "auralis_tui", "--home", str(home), "sql", endless],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )  # fmt: skip
    stat = Path(f"/proc/{query.pid}/stat")
    while int(stat.read_text().rsplit(")", 1)[1].split()[11]) < 100:  # utime: it is busy in the query
        assert query.poll() is None
        time.sleep(0.05)
    query.send_signal(signal.SIGINT)
    out, err = query.communicate(timeout=30)
    one_line(subprocess.CompletedProcess(query.args, query.returncode, out, err), 130, "interrupted")


def test_control_characters_in_values_never_reach_the_terminal(home):
    home.mkdir()
    log = feedback.log_path(home)
    log.parent.mkdir(parents=True)
    hostile = "\x1b]0;pwned\x07\x1b[2J\u202etxt.exe\x9b"
    log.write_text(json.dumps(dict(GOOD, comment=hostile, track=hostile)) + "\n")
    for form in ("table", "csv", "json"):
        result = auralis(home, "sql", "SELECT comment, track AS \"\x1b[31m\" FROM ratings", "--format", form)
        assert result.returncode == 0 and not result.stderr, result.stderr
        assert not any((ord(c) < 32 and c != "\n") or 0x7F <= ord(c) <= 0x9F or c == "\u202e" for c in result.stdout)
        assert "pwned" in result.stdout


# --- files that are not what they seem ---------------------------------------------------------


def test_inputs_that_are_not_audio_files_name_the_real_cause(home, tmp_path):
    folder = tmp_path / "folder.flac"
    folder.mkdir()
    fifo = tmp_path / "pipe.wav"
    os.mkfifo(fifo)
    loop = tmp_path / "loop.wav"
    loop.symlink_to(loop)
    text = tmp_path / "notes.wav"
    text.write_text("not audio at all\n" * 100)
    cases = [(folder, "folder"), (fifo, "not a regular file"), (loop, "symlink loop"),
             (tmp_path / "absent.wav", "no such file"), (text, "not an audio file")]  # fmt: skip
    for rate in (1, 10, 100):
        low = tmp_path / f"low-{rate}.wav"
        audio.write(low, stereo(sine(0.2 * rate, 60.0, rate)), rate)
        cases.append((low, "below 4000 Hz"))
    for path, words in cases:
        for command in (["fingerprint", str(path)], ["rate", str(path), "--rating", "3"], ["play", str(path)]):
            one_line(auralis(home, *command), 1, path.name, words)
        one_line(auralis(home, "master", str(path), str(tmp_path / "out.wav")), 1, path.name, words)
    assert log_lines(home) == []


def test_scan_skips_a_missing_root_and_scans_the_rest(home, track, tmp_path):
    gone = tmp_path / "unplugged"
    result = auralis(home, "scan", str(gone), str(track.parent))
    assert result.returncode == 0 and "Traceback" not in result.stderr  # progress goes to stderr too
    assert [line for line in result.stderr.splitlines() if "unplugged" in line] == [
        f"auralis: {gone}: no such folder; skipped"
    ]
    assert "1 audio files" in result.stdout
    one_line(auralis(home, "scan", str(gone)), 1, "unplugged: no such folder")


def test_play_seconds_plays_that_long_of_a_long_file(home, tmp_path, sink):
    long = tmp_path / "long.flac"
    audio.write(long, stereo(0.5 * sine(440, 240.0, 44100, 0.0) + 0.05), 44100)  # 4 minutes: decoding takes a while
    result = subprocess.run(
        [sys.executable, "-m", "auralis_tui", "--home", str(home), "play", str(long), "--seconds", "2"],
        capture_output=True, text=True, timeout=300, env={**os.environ, "HOME": str(sink), "AURALIS_HOME": ""},
    )  # fmt: skip
    assert result.returncode == 0 and not result.stderr, result.stderr
    position = float(result.stdout.split(" to ")[1].split(" s ")[0])
    assert 2.0 <= position < 3.0, result.stdout
    frames = np.fromfile(sink / "out.raw", dtype=np.float32).reshape(-1, 2)
    assert np.count_nonzero(np.abs(frames).sum(axis=1)) >= 2 * 44100 * 0.99  # what reached the sound card


def test_a_hostile_file_name_never_reaches_the_terminal_raw(home, tmp_path):
    hostile = tmp_path / "\x1b]0;pwned\x07\x1b[2J.wav"
    hostile.write_text("not audio")
    line = one_line(auralis(home, "rate", str(hostile), "--rating", "3"), 1, "pwned", "not an audio file")
    assert "\x1b" not in line and "\x07" not in line and "\\x1b" in line


def test_a_home_that_is_a_file_is_named_as_such(tmp_path):
    taken = tmp_path / "notes.txt"
    taken.write_text("mine\n")
    one_line(auralis(taken, "analyze"), 1, f"{taken}: not a folder")
    assert taken.read_text() == "mine\n"


def test_master_refuses_an_output_it_cannot_write_before_rendering(home, track, tmp_path):
    cases = [(tmp_path / "gone" / "out.wav", f"no folder {tmp_path / 'gone'} to write into"),
             (tmp_path / "out.xyz", "unknown output format '.xyz'"),
             (tmp_path / "out.opus", "Opus cannot store 44100 Hz")]  # fmt: skip
    for target, words in cases:
        one_line(auralis(home, "master", str(track), str(target)), 1, target.name, words)  # no "mastering …" line
    assert sorted(p.name for p in tmp_path.rglob("out*")) == []
