"""Scanning real folders of real files into a real DuckDB file."""

from __future__ import annotations

import io
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from mutagen.flac import FLAC

from auralis_tui import store
from auralis_tui.config import add_library_root, load_config
from auralis_tui.library import scan
from engine import audio

from conftest import sine, stereo


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
    env = {**os.environ, "AURALIS_HOME": str(home)}
    return subprocess.Popen(
        [sys.executable, "-m", "auralis_tui", *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, **kwargs,
    )  # fmt: skip


def test_reading_while_another_process_scans(tmp_path):
    home = tmp_path / "home"
    root = tmp_path / "many"
    for i in range(40):
        tone_file(root / f"{i:03d}.wav", seconds=2.0, rate=44100)
    scanner = auralis("scan", str(root), "--jobs", "1", home=home)
    failures, reads = [], 0
    while scanner.poll() is None:
        reader = auralis("sql", "SELECT count(*) FROM tracks", home=home)
        _, err = reader.communicate(timeout=60)
        reads += 1
        if reader.returncode != 0:
            failures.append(err)
    assert scanner.returncode == 0, scanner.stderr.read()
    assert reads >= 2
    assert failures == []
    assert all("lock" not in f.lower() for f in failures)
    assert sum(1 for r in rows(home).values() if r["fingerprint"] is not None) == 40


def test_ctrl_c_stops_cleanly_and_keeps_finished_work(tmp_path):
    home = tmp_path / "home"
    root = tmp_path / "long"
    first = tone_file(root / "000.flac", seconds=120.0, rate=44100)
    for i in range(1, 40):  # ~0.25 s of analysis each: the scan is still busy when Ctrl-C comes
        shutil.copyfile(first, root / f"{i:03d}.flac")
    scanner = auralis("scan", str(root), "--jobs", "1", home=home)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # wait until some analyses have been written
        time.sleep(0.5)
        if (home / store.DB_NAME).exists():
            try:
                done = sum(1 for r in rows(home).values() if r["fingerprint"] is not None)
            except store.StoreBusy:
                continue
            if done >= 2:
                break
    scanner.send_signal(signal.SIGINT)
    out, err = scanner.communicate(timeout=60)
    assert scanner.returncode == 130
    assert "Traceback" not in err
    assert "interrupted" in out
    analysed = sum(1 for r in rows(home).values() if r["fingerprint"] is not None)
    assert 2 <= analysed < 40
    rescan = auralis("scan", str(root), "--jobs", "2", home=home)
    rescan.communicate(timeout=120)
    assert rescan.returncode == 0
    assert sum(1 for r in rows(home).values() if r["fingerprint"] is not None) == 40


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
