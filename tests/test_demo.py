"""`auralis demo` builds a deterministic, analysed demo library in its own home."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np

from auralis_tui import feedback, profiles
from auralis_tui.demo import DEMO_TRACKS, render_track
from engine import audio


def test_demo_builds_a_varied_analysed_library(demo_build):
    home = demo_build.home  # `auralis demo --home DIR --json`, run once for the whole suite
    tracks = demo_build.printed["tracks"]
    assert 10 <= len(tracks) <= 12
    assert any(t["channels"] == 1 for t in tracks)
    assert any(t["rate"] == 96000 for t in tracks)
    assert all(30 <= t["duration"] <= 90 for t in tracks)
    assert all(t["artist"] and t["title"] and t["album"] for t in tracks)
    assert {t["character"] for t in tracks} >= {"studio_hd_bright", "studio", "metal", "bootleg", "live", "vintage"}
    assert all(t["type"] == t["character"] for t in tracks), [(t["file"], t["type"]) for t in tracks]
    assert (home / "library.duckdb").exists()
    assert not (demo_build.user_home / "library.duckdb").exists()  # the user's data is untouched
    # six months of history with comments, on two studio profile versions
    events = feedback.read_log(home).events
    assert demo_build.printed["feedback_events"] == len(events) >= 100
    months = {e["timestamp"][:7] for e in events}
    assert len(months) == 6
    assert sum(1 for e in events if e["comment"]) >= 50
    assert {e["event"] for e in events} == set(feedback.EVENTS)
    assert profiles.versions(home, "studio") == ["2.0", "2.1"]
    assert {e["profile"]["version"] for e in events if e["detected_type"] == "studio"} == {"2.0", "2.1"}
    analysis = subprocess.run(
        [sys.executable, "-m", "auralis_tui", "--home", str(home), "analyze", "--json"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert any(t["recommendations"] for t in json.loads(analysis.stdout)["types"])


def test_demo_tracks_are_deterministic(tmp_path):
    track = min(DEMO_TRACKS, key=lambda t: t.seconds * t.rate)
    first, second = tmp_path / "a.flac", tmp_path / "b.flac"
    render_track(track, first)
    render_track(track, second)
    np.testing.assert_array_equal(audio.decode(first).samples, audio.decode(second).samples)
