"""Scanning real folders of real files into a real DuckDB file."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from mutagen.flac import FLAC

from auralis_tui import store
from auralis_tui.config import add_library_root, load_config
from auralis_tui.library import scan
from engine import audio

from conftest import sine, stereo, wait_until


def tone_file(path: Path, seconds: float = 0.5, rate: int = 22050, **tags: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    audio.write(path, stereo(sine(440, seconds, rate, -20)), rate)
    if tags and path.suffix == ".flac":
        meta = FLAC(path)
        meta.update(tags)
        meta.save()
    return path


def rows(home: Path) -> dict[str, dict]:
    with store.connect(home, read_only=True) as con:
        cursor = con.execute("SELECT * FROM tracks")
        names = [d[0] for d in cursor.description]
        return {row[0]: dict(zip(names, row, strict=True)) for row in cursor.fetchall()}


@pytest.fixture
def library(tmp_path) -> Path:
    root = tmp_path / "music"
    tone_file(
        root / "Band" / "Record" / "01 Song.flac",
        artist="The Band", album="The Record", title="The Song", tracknumber="1/9", discnumber="2", date="1999-05-01",
        genre="Rock",
    )  # fmt: skip
    tone_file(root / "Folk Artist" / "Field Album" / "07 - Untagged Tune.wav")
    tone_file(root / ".hidden" / "secret.flac")
    tone_file(root / "Band" / ".dotfile.flac")
    (root / "Band" / "notes.txt").write_text("not audio")
    (root / "Broken" / "bad.flac").parent.mkdir(parents=True)
    (root / "Broken" / "bad.flac").write_bytes(b"fLaC" + b"\x00" * 200)
    os.symlink(root, root / "Band" / "loop")  # a folder that contains itself
    return root


def test_tags_fallbacks_hidden_files_and_errors(tmp_path, library):
    home = tmp_path / "home"
    with open(os.devnull, "w") as quiet:
        summary = scan(home, library, jobs=1, progress_stream=quiet)
    found = rows(home)
    names = sorted(Path(p).name for p in found)
    assert names == ["01 Song.flac", "07 - Untagged Tune.wav", "bad.flac"]  # hidden skipped, loop visited once
    tagged = next(r for p, r in found.items() if p.endswith("01 Song.flac"))
    assert (tagged["artist"], tagged["album"], tagged["title"]) == ("The Band", "The Record", "The Song")
    assert (tagged["track_number"], tagged["disc_number"], tagged["year"], tagged["genre"]) == (1, 2, 1999, "Rock")
    assert tagged["rate"] == 22050 and tagged["channels"] == 2
    assert tagged["duration"] == pytest.approx(0.5, abs=0.01)
    untagged = next(r for p, r in found.items() if p.endswith("Tune.wav"))
    assert (untagged["artist"], untagged["album"], untagged["title"], untagged["track_number"]) == (
        "Folk Artist", "Field Album", "Untagged Tune", 7,
    )  # fmt: skip
    bad = next(r for p, r in found.items() if p.endswith("bad.flac"))
    assert bad["error"]
    assert summary.errors == [(bad["path"], bad["error"])]
    assert len(tagged["fingerprint"]) == 25 and tagged["type"] is not None
    assert summary.analysed == 2


def test_incremental_rescan_missing_and_version_change(tmp_path, library):
    home = tmp_path / "home"
    quiet = io.StringIO()
    first = scan(home, library, jobs=1, progress_stream=quiet)
    assert first.new == 3
    before = rows(home)
    second = scan(home, library, jobs=1, progress_stream=quiet)
    assert (second.new, second.changed, second.unchanged, second.analysed) == (0, 0, 3, 0)
    assert rows(home) == before  # nothing rewritten
    song = next(p for p in before if p.endswith("01 Song.flac"))
    tone_file(Path(song), seconds=0.8)  # changed content, size and mtime
    gone = next(p for p in before if p.endswith(".wav"))
    Path(gone).unlink()
    third = scan(home, library, jobs=1, progress_stream=quiet)
    assert (third.changed, third.missing, third.analysed) == (1, 1, 1)
    after = rows(home)
    assert after[gone]["missing"] is True
    assert after[song]["duration"] == pytest.approx(0.8, abs=0.01)
    stamp = Path(song).stat().st_mtime + 60  # re-tagged in place: same size, a new mtime
    os.utime(song, (stamp, stamp))
    retagged = scan(home, library, jobs=1, progress_stream=quiet)
    assert (retagged.changed, retagged.unchanged, retagged.analysed) == (1, 1, 1)
    with store.connect(home) as con:  # as if the fingerprint definition had changed
        con.execute("UPDATE tracks SET fingerprint_version = 0")
    fourth = scan(home, library, jobs=1, progress_stream=quiet)
    assert fourth.analysed == 1  # the one present, readable file


def test_config_keeps_comments_and_roots(tmp_path):
    home = tmp_path / "home"
    assert load_config(home).library_roots == []
    text = (home / "config.toml").read_text()
    (home / "config.toml").write_text(text + "\n# my own note\n")
    assert add_library_root(home, tmp_path / "a")
    assert not add_library_root(home, tmp_path / "a")
    assert load_config(home).library_roots == [str((tmp_path / "a").resolve())]
    assert "# my own note" in (home / "config.toml").read_text()


def auralis(*args: str, home: Path, **kwargs) -> subprocess.Popen:
    """The CLI with Ctrl-C as a terminal delivers it: a suite started in the background (``make
    test &``) ignores SIGINT, and its children would inherit that and never stop."""
    env = {**os.environ, "AURALIS_HOME": str(home)}
    return subprocess.Popen(
        [sys.executable, "-m", "auralis_tui", *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL), **kwargs,
    )  # fmt: skip


def fingerprinted(home: Path) -> set[str]:
    """Paths with a stored analysis; empty while the database is not there yet or busy."""
    if not (home / store.DB_NAME).exists():
        return set()
    try:
        return {path for path, row in rows(home).items() if row["fingerprint"] is not None}
    except store.StoreBusy:
        return set()


def linked_copies(first: Path, count: int) -> Path:
    """``count`` names for one file (hard links: instant), so a scan of them is long whatever the machine."""
    for i in range(1, count):
        os.link(first, first.parent / f"{i:03d}{first.suffix}")
    return first.parent


def test_reading_while_another_process_scans(tmp_path):
    home, total = tmp_path / "home", 300
    root = linked_copies(tone_file(tmp_path / "many" / "000.flac", seconds=120.0, rate=44100), total)
    scanner = auralis("scan", str(root), "--jobs", "1", home=home)
    seen, failures = [], []

    def part_way() -> int:
        return sum(0 < n < total for n in seen)

    while scanner.poll() is None and part_way() < 3:  # ~0.25 s per file: the whole scan takes a minute or more
        reader = auralis("sql", "SELECT count(fingerprint) AS n FROM tracks", "--format", "csv", home=home)
        out, err = reader.communicate(timeout=120)
        if reader.returncode == 0:
            seen.append(int(out.split()[-1]))
        else:
            failures.append(err)
    scanner.send_signal(signal.SIGINT)
    _, err = scanner.communicate(timeout=120)
    assert failures == []
    assert part_way() >= 3, seen  # the reads did overlap the writes
    assert seen == sorted(seen)  # each read saw a committed state, never an older one
    assert scanner.returncode == 130 and "Traceback" not in err, err  # the readers did not break the writer
    assert max(seen) <= len(fingerprinted(home))


def test_ctrl_c_stops_cleanly_and_keeps_finished_work(tmp_path):
    home, total = tmp_path / "home", 200
    root = linked_copies(tone_file(tmp_path / "long" / "000.flac", seconds=120.0, rate=44100), total)
    scanner = auralis("scan", str(root), "--jobs", "1", home=home)  # ~0.25 s per file: long after the signal
    wait_until(lambda: len(fingerprinted(home)) >= 2, "two stored analyses", poll=0.1)
    scanner.send_signal(signal.SIGINT)
    out, err = scanner.communicate(timeout=60)
    assert scanner.returncode == 130
    assert "Traceback" not in err
    assert "interrupted" in out
    kept = fingerprinted(home)
    assert 2 <= len(kept) < total
    waiting = sorted(set(rows(home)) - kept)
    for path in waiting[3:]:  # leave three for the rescan
        Path(path).unlink()
    rescan = scan(home, root, jobs=2, progress_stream=io.StringIO())
    assert rescan.analysed == 3  # the finished work is not done again
    assert fingerprinted(home) == kept | set(waiting[:3])
    assert rescan.missing == len(waiting) - 3


def analysis_workers(pid: int) -> list[int]:
    """The scan's analysis processes (its multiprocessing resource tracker left out)."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [int(c) for c in children if b"spawn_main" in Path(f"/proc/{c}/cmdline").read_bytes()]


def ended(pid: int) -> bool:
    stat = Path(f"/proc/{pid}/stat")
    return not stat.exists() or stat.read_text().rsplit(")", 1)[1].split()[0] == "Z"


def test_ctrl_c_does_not_wait_for_a_stalled_worker(tmp_path):
    """A worker that makes no progress (starved of CPU on a busy machine, stuck on a slow disk; here
    stopped) must not hold Ctrl-C up: the scan exits at once and takes its workers with it."""
    home = tmp_path / "home"
    root = linked_copies(tone_file(tmp_path / "long" / "000.flac", seconds=120.0, rate=44100), 40)
    scanner = auralis("scan", str(root), "--jobs", "1", home=home)
    workers: list[int] = []
    try:
        wait_until(lambda: fingerprinted(home), "a stored analysis", poll=0.1)
        workers = wait_until(lambda: analysis_workers(scanner.pid), "the analysis worker")
        for pid in workers:
            os.kill(pid, signal.SIGSTOP)
        scanner.send_signal(signal.SIGINT)
        out, err = scanner.communicate(timeout=60)
    finally:
        scanner.kill()
        for pid in workers:
            if not ended(pid):
                os.kill(pid, signal.SIGKILL)
    assert scanner.returncode == 130 and "Traceback" not in err, err
    assert "interrupted" in out
    assert all(ended(pid) for pid in workers)


def ctrl_c_on_call(number: int):
    """A trace function raising KeyboardInterrupt on entering the ``number``-th call (one only:
    a trace function that raises is removed)."""
    countdown = iter(range(number, -1, -1))

    def trace(frame, event, arg):
        if next(countdown) == 0:
            raise KeyboardInterrupt

    return trace


def test_ctrl_c_anywhere_in_a_store_call_leaves_the_database_usable(tmp_path):
    """Python raises a Ctrl-C's KeyboardInterrupt where it checks for signals, on entering a
    function among others. Raised on entering each call a save makes, it surfaces as
    KeyboardInterrupt, the save happened whole or not at all, and the next store call works (an
    interrupted block once left the file attached, and every later call failed)."""
    home = tmp_path / "home"
    path, vector = "/music/a.flac", [0.5] * 25
    store.upsert_tracks(home, [{"path": path, "root": "/music", "size": 1, "mtime": 1.0, "missing": False}])
    result = {"path": path, "fingerprint": vector, "fingerprint_version": 1, "type": "t", "confidence": 0.5}
    calls: list[str] = []

    def record(frame, event, arg):
        calls.append(f"{frame.f_code.co_filename}:{frame.f_code.co_name}")

    sys.settrace(record)
    try:
        store.save_analyses(home, [result])
    finally:
        sys.settrace(None)
    assert sum(call.endswith(":_detach") for call in calls) == 1
    for number, call in enumerate(calls):
        with store.connect(home) as con:
            con.execute("UPDATE tracks SET fingerprint = NULL")
        with pytest.raises(KeyboardInterrupt):
            sys.settrace(ctrl_c_on_call(number))
            try:
                store.save_analyses(home, [result])
            finally:
                sys.settrace(None)
        try:
            assert rows(home)[path]["fingerprint"] in (None, vector)
        except Exception as exc:
            raise AssertionError(f"after a Ctrl-C on entering {call}: {exc!r}") from exc


@pytest.mark.parametrize(
    ("query", "fragment"),
    [
        ("DELETE FROM tracks", "only SELECT"),
        ("INSERT INTO tracks (path) VALUES ('x')", "only SELECT"),
        ("ATTACH '/tmp/other.duckdb'", "only SELECT"),
        ("COPY tracks TO '/tmp/out.csv'", "only SELECT"),
        ("INSTALL httpfs", "only SELECT"),
        ("LOAD httpfs", "only SELECT"),
        ("SELECT * FROM read_csv('/etc/passwd')", "not allowed"),
        ("SELECT * FROM '/etc/hostname'", "not allowed|does not exist"),  # file scans are switched off
        ("SET enable_external_access = true", "only SELECT"),
        ("SELECT 1; DROP TABLE tracks", "exactly one statement"),
    ],
)
def test_sql_refuses_anything_but_reading(tmp_path, query, fragment):
    home = tmp_path / "home"
    with store.connect(home):
        pass
    with pytest.raises(store.QueryRefused, match=fragment):
        store.run_user_query(home, query)
    assert store.run_user_query(home, "SELECT count(*) AS n FROM tracks").rows == [(0,)]


def test_scan_classifies_with_the_users_current_profiles(tmp_path):
    from auralis_tui import profiles
    from auralis_tui.synth import CHARACTERS, render

    folder = tmp_path / "music"
    folder.mkdir()
    audio.write(folder / "riff.flac", render(CHARACTERS["metal"], 6.0, 44100, seed=2), 44100)
    shipped, edited = tmp_path / "shipped", tmp_path / "edited"

    def out_of_reach(document) -> None:  # no track can match metal's ranges any more
        for feature in document["detect"]["features"].values():
            feature["range"] = [1e6, 2e6]

    profiles.edit(edited, "metal", out_of_reach, "metal detection switched off")
    scan(shipped, folder, jobs=1)
    scan(edited, folder, jobs=1)
    (before,), (after,) = (list(rows(home).values()) for home in (shipped, edited))
    assert before["type"] == "metal" and after["type"] != "metal"
