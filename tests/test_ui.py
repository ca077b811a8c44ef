"""The app, driven by Textual's Pilot on the real demo home, and by keys in a real tmux terminal."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from textual.widgets import DataTable, Static

from auralis_tui import feedback
from auralis_tui.demo import build_demo
from auralis_tui.ui.app import AuralisApp


@pytest.fixture(scope="module")
def demo_home(tmp_path_factory) -> Path:
    home = tmp_path_factory.mktemp("ui") / "demo"
    build_demo(home)
    return home


@pytest.fixture
def home(demo_home, tmp_path) -> Path:
    """A private copy of the demo home (ratings written by one test never reach another)."""
    copy = tmp_path / "demo"
    shutil.copytree(demo_home, copy, symlinks=True)
    return copy


async def settle(pilot) -> None:
    """Wait until no worker runs and none starts during a short pause (loads chain into others)."""
    quiet = 0
    while quiet < 2:
        busy = any(worker.is_running for worker in pilot.app.workers)
        await pilot.app.workers.wait_for_complete()
        await pilot.pause(0.05)
        quiet = 0 if busy else quiet + 1


def text(app, selector: str) -> str:
    return str(app.query_one(selector, Static).render())


def test_rating_key_writes_a_complete_line(home):
    asyncio.run(_rating_key_writes_a_complete_line(home))


async def _rating_key_writes_a_complete_line(home):
    app = AuralisApp(home, audio=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        table = app.query_one("#tracks", DataTable)
        await pilot.press("down")
        chosen = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        before = len(feedback.read_log(home).events)
        await pilot.press("4")
        await settle(pilot)
        events = feedback.read_log(home).events
        assert len(events) == before + 1
        line = events[-1]
        assert (line["event"], line["rating"], line["track_path"]) == ("rating", 4, chosen)
        assert len(line["fingerprint"]) == 25 and line["detected_type"] and line["profile"]["version"]
        assert {"bass_db", "treble_db", "width", "target_lufs"} <= set(line["parameters_applied"])
        assert "★★★★☆" in table.get_row(chosen)[-1]  # the table shows the new last rating


def test_comment_then_rating_and_undo(home):
    asyncio.run(_comment_then_rating_and_undo(home))


async def _comment_then_rating_and_undo(home):
    app = AuralisApp(home, audio=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("c")
        await pilot.pause(0.05)
        await pilot.press(*"too thin", "enter")
        await pilot.press("2")
        await settle(pilot)
        rated = feedback.read_log(home).events[-1]
        assert (rated["rating"], rated["comment"]) == (2, "too thin")
        await pilot.press("u")
        await settle(pilot)
        undo = feedback.read_log(home).events[-1]
        assert (undo["event"], undo["refers_to"]) == ("undo", rated["id"])


def test_filter_narrows_the_library(home):
    asyncio.run(_filter_narrows_the_library(home))


async def _filter_narrows_the_library(home):
    app = AuralisApp(home, audio=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        table = app.query_one("#tracks", DataTable)
        assert table.row_count == 12
        await pilot.press("slash")
        await pilot.pause(0.05)
        await pilot.press(*"metal")
        await pilot.pause(0.05)
        assert table.row_count == 2


def test_every_panel_shows_its_data(home):
    asyncio.run(_every_panel_shows_its_data(home))


async def _every_panel_shows_its_data(home):
    app = AuralisApp(home, audio=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("f2")
        assert "Nothing playing" in text(app, "#now") and "sound off" in text(app, "#status")
        await pilot.press("f3")
        patterns = text(app, "#patterns-text")
        assert "bootleg" in patterns and "treble_db +0.25" in patterns
        recommendations = app.query_one("#recommendations", DataTable)
        assert {key.value for key in recommendations.rows} >= {"bootleg", "metal", "live", "studio"}
        recommendations.focus()
        recommendations.move_cursor(row=[k.value for k in recommendations.rows].index("live"))
        await pilot.press("enter")  # apply live's "width +0.08" to the personal layer
        await settle(pilot)
        from auralis_tui import personal

        assert personal.current(home).adjust == {"live": {"width": 0.075}}
        await pilot.press("f4")
        trends = text(app, "#trends-text")
        assert "2026-06" in trends and "2026-11" in trends and "Satisfaction per profile version" in trends
        effectiveness = trends.split("Fix effectiveness")[1].splitlines()
        vintage = next(line for line in effectiveness if line.strip().startswith("vintage"))
        assert "0.20" in vintage and "(10)" in vintage  # 2 of 10 vintage fixes accepted and kept
        assert "Detection confidence after feedback" in trends
        await pilot.press("f5")
        versions = app.query_one("#versions", DataTable)
        assert versions.row_count == 8  # seven base profiles and the demo's studio 1.1
        versions.move_cursor(row=[k.value for k in versions.rows].index("studio@1.1"))
        await pilot.press("d")
        await settle(pilot)
        assert "master.bass_db" in text(app, "#diff"), [n.message for n in app._notifications]
        assert "studio@1.0" in text(app, "#diff")  # its parent
        versions.move_cursor(row=[k.value for k in versions.rows].index("metal@1.0"))
        await pilot.press("m")
        versions.move_cursor(row=[k.value for k in versions.rows].index("studio@1.1"))
        await pilot.press("d")
        await settle(pilot)
        compared = text(app, "#diff")
        assert "metal@1.0" in compared and "studio@1.1" in compared and "detect." in compared
        await pilot.press("f6")
        await pilot.click("#sql")
        await pilot.press(*"SELECT count(*) AS n FROM tracks", "enter")
        await settle(pilot)
        result = app.query_one("#sql-result", DataTable)
        assert result.get_row_at(0) == ["12"]
        await pilot.press("ctrl+a", "ctrl+k", *"DELETE FROM tracks", "enter")
        await settle(pilot)
        assert "only SELECT" in text(app, "#sql-status")


PANEL_KEYS = {"library": None, "playing": "f2", "patterns": "f3", "trends": "f4", "profiles": "f5", "sql": "f6"}


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
@pytest.mark.parametrize("panel", list(PANEL_KEYS))
def test_panel_snapshots(snap_compare, demo_home, panel, size):
    async def open_panel(pilot) -> None:
        await settle(pilot)
        if PANEL_KEYS[panel]:
            await pilot.press(PANEL_KEYS[panel])
        await settle(pilot)

    assert snap_compare(AuralisApp(demo_home, audio=False), terminal_size=size, run_before=open_panel)


def test_end_to_end_in_tmux(demo_home, tmp_path):
    home = tmp_path / "demo"
    shutil.copytree(demo_home, home, symlinks=True)
    auralis = Path(sys.executable).with_name("auralis")
    session = f"auralis-test-{os.getpid()}"
    env = {**os.environ, "TERM": "xterm-256color"}
    subprocess.run(
        ["tmux", "new-session", "-d", "-s", session, "-x", "80", "-y", "24",
         f"{auralis} demo --home {home}"],
        check=True, env=env,
    )  # fmt: skip

    def screen() -> str:
        return subprocess.run(["tmux", "capture-pane", "-p", "-t", session], capture_output=True, text=True).stdout

    def wait_for(fragment: str, seconds: float = 60) -> str:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            shown = screen()
            if fragment in shown:
                return shown
            time.sleep(0.2)
        raise AssertionError(f"{fragment!r} never appeared:\n{screen()}")

    try:
        wait_for("Glass Horizon")
        before = len(feedback.read_log(home).events)
        subprocess.run(["tmux", "send-keys", "-t", session, "5"], check=True)
        shown = wait_for("saved")
        assert "★★★★★" in shown
        assert len(feedback.read_log(home).events) == before + 1
        subprocess.run(["tmux", "send-keys", "-t", session, "q"], check=True)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and _alive(session):
            time.sleep(0.2)
        assert not _alive(session)  # q quits the app, and with it the tmux session
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)


def _alive(session: str) -> bool:
    return subprocess.run(["tmux", "has-session", "-t", session], capture_output=True).returncode == 0


PLAYING = """
import asyncio, sys
from pathlib import Path
from auralis_tui.ui.app import AuralisApp

async def main(home):
    app = AuralisApp(home)
    async with app.run_test(size=(80, 24)) as pilot:
        await app.workers.wait_for_complete()
        for _ in range(400):
            if app.player is not None:
                break
            await pilot.pause(0.05)
        await pilot.press("enter")
        for _ in range(2000):
            status = app.player.status()
            if status.position > 0 or status.message:
                break
            await pilot.pause(0.01)
        await pilot.press("a")
        await pilot.pause(0.3)
        print(status.path.name, app.player.status().mastered)
        await pilot.press("f2")
        await pilot.pause(0.3)
        print(app.query_one("#now").render())
        print(app.query_one("#why").render())

asyncio.run(main(Path(sys.argv[1])))
"""


def test_enter_plays_the_selection_and_a_switches_ab(demo_home, sink):
    result = subprocess.run(
        [sys.executable, "-c", PLAYING, str(demo_home)],
        capture_output=True, text=True, timeout=120, env={**os.environ, "HOME": str(sink)},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    first, rest = result.stdout.split("\n", 1)
    assert "Iron Tide" in first, result.stdout
    assert first == "05 Iron Tide.flac False"  # the first row (by artist) plays; A/B went to the original
    assert "Iron Tide" in rest and "A original" in rest
    assert "type metal" in rest and "why: " in rest and "in range" in rest  # the verdict is explained
    assert (sink / "out.raw").stat().st_size > 0


def test_no_color_resize_and_hangup_in_tmux(demo_home, tmp_path):
    home = tmp_path / "demo"
    shutil.copytree(demo_home, home, symlinks=True)
    auralis = Path(sys.executable).with_name("auralis")
    session = f"auralis-hup-{os.getpid()}"
    env = {**os.environ, "TERM": "xterm-256color", "NO_COLOR": "1"}
    subprocess.run(
        ["tmux", "new-session", "-d", "-s", session, "-x", "80", "-y", "24", f"{auralis} --home {home} --no-audio"],
        check=True, env=env,
    )  # fmt: skip

    def screen() -> str:
        return subprocess.run(["tmux", "capture-pane", "-p", "-t", session], capture_output=True, text=True).stdout

    try:
        deadline = time.monotonic() + 60
        while "Glass Horizon" not in screen() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert "Glass Horizon" in screen() and "f6 SQL" in screen()  # nothing cut off at 80x24
        subprocess.run(["tmux", "resize-window", "-t", session, "-x", "120", "-y", "40"], check=True)
        time.sleep(1.0)
        assert "Glass Horizon" in screen() and "Paper Boats" in screen()
        subprocess.run(["tmux", "send-keys", "-t", session, "3"], check=True)
        deadline = time.monotonic() + 20
        while "saved" not in screen() and time.monotonic() < deadline:
            time.sleep(0.1)
        pid = int(subprocess.run(["tmux", "list-panes", "-t", session, "-F", "#{pane_pid}"],
                                 capture_output=True, text=True).stdout)  # fmt: skip
        os.kill(pid, signal.SIGHUP)  # the SSH connection drops
        deadline = time.monotonic() + 10
        while _running(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _running(pid)
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)
    log = feedback.read_log(home)
    assert log.skipped == 0 and log.events[-1]["rating"] == 3
    assert feedback.log_path(home).read_bytes().endswith(b"\n")  # nothing half-written


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
