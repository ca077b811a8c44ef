"""The feedback log with real processes and a real DuckDB file: appends, crashes, ingest, views."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from auralis_tui import feedback, insights, store
from engine import audio

from conftest import sine, stereo, wait_until

APPLIED = {"bass_db": 1.5, "mid_db": 0.0, "treble_db": 2.0, "width": 0.0, "target_lufs": -14.0, "ceiling_dbtp": -1.0}


def event(rating: int | None = 4, comment: str = "", kind: str = "studio", when: datetime | None = None, **extra):
    return feedback.make_event(
        extra.pop("event", "rating"),
        track_path=extra.pop("track_path", "/music/Artist/Album/01 Song.flac"),
        detected_type=kind,
        confidence=extra.pop("confidence", 0.8),
        profile={"name": kind, "version": "1.0"},
        parameters_applied=APPLIED,
        rating=rating,
        comment=comment,
        when=when,
        **extra,
    )


WRITER = """
import sys
from pathlib import Path
from auralis_tui import feedback
home, count, tag = Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
for i in range(count):
    feedback.append(home, feedback.make_event(
        "rating", track_path=f"/m/{tag}-{i}.flac", detected_type="studio", confidence=0.5,
        profile={"name": "studio", "version": "1.0"}, parameters_applied={}, rating=1 + i % 5,
        comment=f"{tag} {i} " + "x" * (i % 300)))
    if count == 0:
        break
"""


def writer(home: Path, count: int, tag: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", WRITER, str(home), str(count), tag])


def test_two_writer_processes_never_interleave(tmp_path):
    procs = [writer(tmp_path, 2000, tag) for tag in ("a", "b")]
    for proc in procs:
        assert proc.wait(timeout=300) == 0
    lines = feedback.log_path(tmp_path).read_bytes().splitlines()
    assert len(lines) == 4000
    log = feedback.read_log(tmp_path)
    assert log.skipped == 0
    assert len(log.events) == 4000
    for tag in ("a", "b"):  # each writer's lines are whole and in its own order
        mine = [e["comment"].split()[1] for e in log.events if e["comment"].startswith(tag)]
        assert mine == [str(i) for i in range(2000)]


def test_writer_killed_mid_stream_loses_only_its_torn_line(tmp_path):
    proc = writer(tmp_path, 10**9, "k")
    path = feedback.log_path(tmp_path)
    wait_until(lambda: path.exists() and path.stat().st_size >= 200_000, "200 kB of appended lines")
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    log = feedback.read_log(tmp_path)
    complete = path.read_bytes().count(b"\n")
    assert len(log.events) + log.skipped == complete
    assert log.skipped <= 1 and len(log.events) > 100
    # A crash can also tear a line in the middle of a write: simulate the torn tail directly.
    with open(path, "ab") as handle:
        handle.write(b'{"schema":1,"id":"torn-')
    feedback.append(tmp_path, event(5, "after the crash"))
    after = feedback.read_log(tmp_path)
    assert after.events[-1]["comment"] == "after the crash"
    assert after.skipped == log.skipped + 1
    assert len(after.events) == len(log.events) + 1


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        ({"rating": 0}, "rating must be"),
        ({"rating": 6}, "rating must be"),
        ({"rating": 4.5}, "rating must be"),
        ({"rating": "4"}, "rating must be"),
        ({"rating": True}, "rating must be"),
        ({"rating": None}, "needs a rating"),
        ({"event": "like"}, "event must be"),
        ({"timestamp": "yesterday"}, "bad timestamp"),
        ({"confidence": 1.5}, "confidence"),
        ({"id": ""}, "missing id"),
    ],
)
def test_invalid_events_are_refused_and_skipped_by_readers(tmp_path, changes, fragment):
    bad = {**event(), **changes}
    with pytest.raises(feedback.FeedbackError, match=fragment):
        feedback.append(tmp_path, bad)
    assert not feedback.log_path(tmp_path).exists() or feedback.read_log(tmp_path).events == []
    # The same line written by something else is skipped by Python and by DuckDB alike.
    feedback.append(tmp_path, event(3))
    with open(feedback.log_path(tmp_path), "a", encoding="utf-8") as handle:
        handle.write(json.dumps(bad) + "\n")
    feedback.append(tmp_path, event(5))
    log = feedback.read_log(tmp_path)
    assert ([e["rating"] for e in log.events], log.skipped) == ([3, 5], 1)
    assert store.sync_feedback(tmp_path) == 1
    assert _ratings(tmp_path) == [3, 5]


def _ratings(home: Path) -> list[int]:
    with store.connect(home, read_only=True) as con:
        return [row[0] for row in con.execute("SELECT rating FROM ratings ORDER BY timestamp").fetchall()]


def test_ingest_is_incremental_and_follows_rewrites(tmp_path):
    start = datetime(2026, 1, 1, tzinfo=UTC)
    feedback.append(tmp_path, [event(r, when=start + timedelta(days=r)) for r in (1, 2, 3)])
    assert store.sync_feedback(tmp_path) == 0
    size = feedback.log_path(tmp_path).stat().st_size
    with store.connect(tmp_path, read_only=True) as con:
        assert con.execute("SELECT log_offset FROM feedback_ingest").fetchone()[0] == size
    database = tmp_path / store.DB_NAME
    written = database.stat().st_mtime_ns
    store.sync_feedback(tmp_path)  # nothing new: no duplicates, and no write (a write costs a checkpoint)
    assert database.stat().st_mtime_ns == written
    feedback.append(tmp_path, event(4, when=start + timedelta(days=4)))
    store.sync_feedback(tmp_path)
    assert _ratings(tmp_path) == [1, 2, 3, 4]
    kept, dropped, _ = feedback.rewrite(tmp_path, lambda e: e["rating"] >= 3)
    assert (kept, dropped) == (2, 2)
    store.sync_feedback(tmp_path)
    assert _ratings(tmp_path) == [3, 4]


def test_rewrite_keeps_the_old_log_until_the_new_one_is_complete(tmp_path):
    feedback.append(tmp_path, [event(r) for r in (1, 2, 3, 4, 5)])
    before = feedback.log_path(tmp_path).read_bytes()
    seen = []

    def crash_midway(e: dict) -> bool:
        seen.append(e)
        if len(seen) == 3:
            raise RuntimeError("power cut")
        return True

    with pytest.raises(RuntimeError):
        feedback.rewrite(tmp_path, crash_midway)
    assert feedback.log_path(tmp_path).read_bytes() == before


def test_type_summaries_monthly_and_fix_rates(tmp_path):
    jan = datetime(2026, 1, 31, 23, 59, tzinfo=UTC)
    feb = datetime(2026, 2, 1, 0, 0, tzinfo=UTC)
    lines = [event(2, "too thin", when=jan), event(3, "thin and harsh", when=jan), event(1, "no bass", when=feb)]
    lines += [event(2, "narrow", when=feb), event(3, "", when=feb), event(5, "lovely", kind="metal", when=feb)]
    lines += [event(None, event="accept", fix={"parameter": "bass_db", "delta": 0.4}) for _ in range(3)]
    lines += [event(None, event="reject", fix={"parameter": "bass_db", "delta": 0.4})]
    lines += [event(None, event="undo", fix={"parameter": "bass_db", "delta": 0.4})]
    feedback.append(tmp_path, lines)
    summaries = {s.type: s for s in insights.type_summaries(tmp_path)}
    studio = summaries["studio"]
    assert studio.samples == 5
    assert studio.average_rating == pytest.approx(11 / 5)
    assert studio.histogram == {1: 1, 2: 2, 3: 2}
    assert studio.patterns.wants[("bass_db", 1)] == 3
    bass = [r for r in studio.patterns.recommendations if r.parameter == "bass_db"]
    assert [(r.low, r.high) for r in bass] == [(0.3, 0.5)]
    assert len(bass[0].evidence) == 3
    assert any(r.kind == "widen_detection" for r in studio.patterns.recommendations)
    assert summaries["metal"].patterns.recommendations == []  # one sample is not evidence
    months = insights.monthly_summary(tmp_path)
    assert [(m["month"], m["type"], m["ratings"]) for m in months] == [
        ("2026-01", "studio", 2),
        ("2026-02", "metal", 1),
        ("2026-02", "studio", 3),
    ]
    since_feb = insights.type_summaries(tmp_path, since=feb.replace(tzinfo=None))
    assert {s.type: s.samples for s in since_feb} == {"metal": 1, "studio": 3}
    fixes = {(f["type"], f["parameter"]): f for f in insights.fix_effectiveness(tmp_path)}
    assert set(fixes) == {("all", "bass_db"), ("studio", "all"), ("studio", "bass_db")}
    bass = fixes["studio", "bass_db"]
    assert (bass["accepts"], bass["rejects"], bass["modifies"], bass["undos"]) == (3, 1, 0, 1)
    assert (bass["accept_rate"], bass["undo_rate"], bass["effectiveness"]) == (0.75, 0.333, 0.5)


def test_parse_since():
    now = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    assert insights.parse_since("30d", now) == datetime(2026, 10, 24, 12, 0)
    assert insights.parse_since("2w", now) == datetime(2026, 11, 9, 12, 0)
    assert insights.parse_since("2026-01-31") == datetime(2026, 1, 31)
    with pytest.raises(ValueError, match="30d"):
        insights.parse_since("last tuesday")


# --- the CLI, as a user runs it -----------------------------------------------------------------


def auralis(*args: str, home: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "auralis_tui", "--home", str(home), *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "AURALIS_HOME": ""},
    )


@pytest.fixture
def track(tmp_path) -> Path:
    path = tmp_path / "music" / "Band" / "Record" / "03 Secret Title.flac"
    path.parent.mkdir(parents=True)
    audio.write(path, stereo(sine(440, 3.0, 44100, -20)), 44100)
    return path


def test_rate_records_a_complete_line_and_confirms(tmp_path, track):
    home = tmp_path / "home"
    result = auralis("rate", str(track), "--rating", "4", "--comment", "a bit thin", home=home)
    assert result.returncode == 0, result.stderr
    (line,) = feedback.read_log(home).events
    assert line["rating"] == 4 and line["comment"] == "a bit thin" and line["event"] == "rating"
    assert line["track"] == track.name and line["track_path"] == str(track.resolve())
    assert len(line["fingerprint"]) == 25
    assert set(feedback.APPLIED_KEYS) <= set(line["parameters_applied"])
    assert line["profile"]["version"] == "2.0"
    assert line["detected_type"] in result.stdout and f"{line['confidence']:.2f}" in result.stdout
    assert "★★★★☆" in result.stdout and "a bit thin" in result.stdout
    assert str(feedback.log_path(home)) in result.stdout
    assert "analysed now" in result.stdout
    assert auralis("scan", str(track.parent), home=home).returncode == 0
    again = auralis("rate", str(track), "--rating", "2", home=home)
    assert "cached" in again.stdout  # the library's fingerprint is reused
    assert feedback.read_log(home).events[-1]["fingerprint"] == pytest.approx(line["fingerprint"], rel=1e-5)


def test_rate_takes_the_rating_after_the_file(tmp_path, track):
    home = tmp_path / "home"
    result = auralis("rate", str(track), "4", "--comment", "a bit thin", home=home)
    assert result.returncode == 0, result.stderr
    (line,) = feedback.read_log(home).events
    assert (line["rating"], line["comment"], line["track"]) == (4, "a bit thin", track.name)
    clash = auralis("rate", str(track), "4", "--rating", "2", home=home)
    assert clash.returncode == 1 and clash.stderr.count("\n") == 1 and "Traceback" not in clash.stderr
    assert len(feedback.read_log(home).events) == 1


@pytest.mark.parametrize("rating", ["0", "6", "4.5", "five"])
def test_rate_refuses_ratings_outside_one_to_five(tmp_path, track, rating):
    result = auralis("rate", str(track), "--rating", rating, home=tmp_path / "home")
    assert result.returncode == 2
    assert "--rating" in result.stderr and "Traceback" not in result.stderr
    assert not feedback.log_path(tmp_path / "home").exists()


def test_rate_unreadable_file_is_one_line(tmp_path):
    bad = tmp_path / "bad.flac"
    bad.write_bytes(b"not audio at all")
    result = auralis("rate", str(bad), "--rating", "3", home=tmp_path / "home")
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "bad.flac" in result.stderr


def test_analyze_json_and_torn_lines(tmp_path):
    home = tmp_path / "home"
    feedback.append(home, [event(2, c) for c in ("harsh", "too bright", "shrill", "", "fine")])
    with open(feedback.log_path(home), "ab") as handle:
        handle.write(b'{"torn\n')
    result = auralis("analyze", "--all-types", "--monthly-summary", "--json", home=home)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    (studio,) = data["types"]
    assert studio["samples"] == 5 and studio["histogram"] == {"2": 5}
    treble = [r for r in studio["recommendations"] if r["parameter"] == "treble_db"]
    assert treble and treble[0]["midpoint"] == pytest.approx(-0.25)
    assert data["skipped_lines"] == 1
    assert data["monthly"][0]["ratings"] == 5
    text = auralis("analyze", "--type", "studio", home=home)
    assert "treble_db" in text.stdout and "skipped" in text.stdout
    assert auralis("analyze", "--since", "soon", home=home).returncode == 1
    typo = auralis("analyze", "--type", "studi0", home=home)  # a typo is named, not "no ratings yet"
    assert typo.returncode == 1 and typo.stderr.startswith("auralis: unknown type 'studi0' (known: bootleg,")


def test_sql_help_names_every_view(tmp_path):
    shown = " ".join(auralis("sql", "--help", home=tmp_path).stdout.split())
    assert [name for name in store.VIEW_NAMES if name not in shown] == []


SECRET = "secret-b7e1"  # the content of a file the user's SQL must not be able to read

# Each statement works on a plain read-only connection to the library (see the control below), so only the
# guard of `auralis sql` stands between it and its side effect: a file written, or a file's content read.
SQL_ESCAPES = {
    "copy-to-file": ("COPY (SELECT * FROM feedback) TO '{dir}/leak.csv'", "leak.csv"),
    "attach-new-db": ("ATTACH '{dir}/other.duckdb' AS other (READ_WRITE)", "other.duckdb"),
    "export-database": ("EXPORT DATABASE '{dir}/dump'", "dump"),
    "read-text": ("SELECT content FROM read_text('{dir}/private.txt')", None),
    "read-csv": ("SELECT * FROM read_csv('{dir}/private.txt', header = false)", None),
    "glob-listing": ("SELECT file FROM glob('{dir}/*.txt')", None),
}


@pytest.mark.parametrize("case", SQL_ESCAPES, ids=list(SQL_ESCAPES))
def test_sql_cannot_write_or_read_files(tmp_path, case):
    home, outside = tmp_path / "home", tmp_path / "outside"
    outside.mkdir()
    (outside / "private.txt").write_text(f"{SECRET}\n", encoding="utf-8")
    feedback.append(home, event(4))
    template, creates = SQL_ESCAPES[case]
    query = template.format(dir=outside)
    result = auralis("sql", query, "--format", "csv", home=home)
    assert result.returncode == 1 and result.stdout == "", result.stdout
    assert result.stderr.startswith("auralis: ") and result.stderr.count("\n") == 1
    assert sorted(p.name for p in outside.iterdir()) == ["private.txt"]  # nothing written

    # control: without the guard the same statement does escape, so the assertions above can fail
    with duckdb.connect(str(home / store.DB_NAME), read_only=True) as con:
        rows = con.execute(query).fetchall()
    if creates:
        assert (outside / creates).exists()
    else:
        assert SECRET in repr(rows) or "private.txt" in repr(rows)


def test_sql_cannot_delete_feedback(tmp_path):
    home = tmp_path / "home"
    feedback.append(home, [event(4), event(2)])
    refused = auralis("sql", "DELETE FROM feedback_events", home=home)
    assert refused.returncode == 1 and refused.stderr.count("\n") == 1 and "Traceback" not in refused.stderr
    count = auralis("sql", "SELECT count(*) AS n FROM feedback_events", "--format", "json", home=home)
    assert json.loads(count.stdout) == [{"n": 2}]


def test_sql_views_answer(tmp_path):
    home = tmp_path / "home"
    feedback.append(home, [event(r) for r in (1, 5, 5)])
    result = auralis("sql", "SELECT rating, ratings FROM rating_distribution", "--format", "json", home=home)
    assert json.loads(result.stdout) == [{"rating": 1, "ratings": 1}, {"rating": 5, "ratings": 2}]


def test_export_is_anonymous_and_needs_sharing_on(tmp_path):
    home = tmp_path / "home"
    secret_comment = "sounds like my neighbour Quentin's basement"
    lines = [event(4, secret_comment, when=datetime(2026, 3, 14, 15, 9, 26, tzinfo=UTC))]
    lines.append(event(None, event="accept", fix={"parameter": "bass_db", "delta": 0.4}, test_id="ab-secret"))
    feedback.append(home, lines)
    out = tmp_path / "shared.json"
    refused = auralis("export", "--anonymized", str(out), home=home)
    assert refused.returncode == 1 and "auralis sharing on" in refused.stderr and not out.exists()
    assert auralis("sharing", "on", home=home).returncode == 0
    assert auralis("export", "--anonymized", str(out), home=home).returncode == 0
    text = out.read_text(encoding="utf-8")
    for secret in ("/music", "Artist", "Album", "Song", "Quentin", "neighbour", "ab-secret", "15:09", "2026-03-14"):
        assert secret not in text
    for line in lines:
        assert line["id"] not in text
    data = json.loads(text)
    assert [e["month"] for e in data["events"]] == ["2026-03", lines[1]["timestamp"][:7]]
    assert data["events"][1]["fix"] == {"parameter": "bass_db", "delta": 0.4}
    assert auralis("sharing", "off", home=home).returncode == 0
    assert auralis("export", "--anonymized", str(out), home=home).returncode == 1


def test_forget_older_than(tmp_path):
    home = tmp_path / "home"
    now = datetime.now(UTC)
    feedback.append(home, [event(1, when=now - timedelta(days=200)), event(5, when=now - timedelta(days=10))])
    result = auralis("forget", "--older-than", "90d", home=home)
    assert result.returncode == 0 and "forgot 1" in result.stdout
    assert [e["rating"] for e in feedback.read_log(home).events] == [5]


def test_streaming_reads_lines_across_chunk_boundaries(tmp_path):
    lines = [event(r) for r in (1, 2, 3)]
    feedback.append(tmp_path, lines)
    log = feedback.log_path(tmp_path)
    torn = json.dumps(event(4)).encode()[:40]
    with open(log, "ab") as handle:
        handle.write(b"{not json\n\n" + torn)  # invalid, blank, torn tail
    for chunk in (7, 64, 1 << 20):
        streamed = list(feedback.stream_events(log, chunk=chunk))
        assert [e and e["id"] for e in streamed] == [e["id"] for e in lines] + [None]
    assert list(feedback.stream_events(tmp_path / "absent.jsonl")) == []
    assert feedback.rewrite(tmp_path, lambda e: e["rating"] != 2) == (2, 1, 1)  # invalid and torn lines stay
    assert log.read_bytes().endswith(b"{not json\n" + torn)
