"""The app, driven by Textual's Pilot on the real demo home: which panel is open, which widget
has the keys, and what each key writes to the feedback log. (Real-terminal journeys are in
test_journeys.py.)"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
import time

import pytest
from textual import events
from textual.widgets import DataTable, Input, Static, TabbedContent

from auralis_tui import feedback, store
from auralis_tui.ui.app import AuralisApp

from keysession import run_session, settle

PANES = ("library", "playing", "patterns", "trends", "profiles", "sql", "queue")


async def until(pilot, condition, what: str, seconds: float = 60.0):
    """Wait for ``condition()`` to hold (the event loop keeps running meanwhile)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while loop.time() < deadline:
        value = condition()
        if value:
            return value
        await pilot.pause(0.02)
    raise AssertionError(f"{what} never happened")


async def lines_after(pilot, home, count: int) -> list[dict]:
    """The log once it holds more than ``count`` lines and the app is quiet again."""
    await until(pilot, lambda: len(feedback.read_log(home).events) > count, f"line {count + 1} in the log")
    await settle(pilot)
    return feedback.read_log(home).events


def key(app, name: str) -> None:
    """Deliver a key as the terminal driver does, without Pilot's wait for an idle process: the
    caller waits for the state it checks (faster, and no idle heuristic a busy machine can fool)."""
    event = events.Key(name, None)
    event.set_sender(app)
    app.post_message(event)


def text(app, selector: str) -> str:
    return str(app.query_one(selector, Static).render())


def open_pane(app) -> str:
    return app.query_one(TabbedContent).active


def focus_pane(app) -> str | None:
    """The pane that holds the focused widget."""
    node = app.focused
    while node is not None and node.id not in PANES:
        node = node.parent
    return node.id if node else None


def run(coroutine):
    return asyncio.run(coroutine)


def test_rating_key_writes_a_complete_line(home):
    run(_rating_key_writes_a_complete_line(home))


async def _rating_key_writes_a_complete_line(home):
    app = AuralisApp(home, audio=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        table = app.query_one("#tracks", DataTable)
        await pilot.press("down")
        await until(pilot, lambda: "rates → Cinder March · mastered" in text(app, "#status"), "the status names row 2")
        chosen = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        before = len(feedback.read_log(home).events)
        await pilot.press("4")
        events = await lines_after(pilot, home, before)
        assert len(events) == before + 1
        line = events[-1]
        assert (line["event"], line["rating"], line["track_path"], line["heard"]) == ("rating", 4, chosen, "mastered")
        assert len(line["fingerprint"]) == 25 and line["detected_type"] and line["profile"]["version"]
        assert {"bass_db", "treble_db", "width", "target_lufs"} <= set(line["parameters_applied"])
        await until(pilot, lambda: "★★★★☆" in str(table.get_row(chosen)[-1]), "the table shows the new last rating")


def test_service_warnings_become_notices_not_text_over_the_screen(home, capfd):
    run(_service_warnings_become_notices(home))
    assert "database is busy" not in capfd.readouterr().err


async def _service_warnings_become_notices(home):
    import logging

    app = AuralisApp(home, audio=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        threading.Thread(target=logging.getLogger("auralis").warning, args=("the database is busy",)).start()
        await until(pilot, lambda: any("database is busy" in str(n.message) for n in app._notifications), "a notice")


def test_comment_box_returns_focus_and_the_next_key_rates(home):
    run(_comment_box_returns_focus_and_the_next_key_rates(home))


async def _comment_box_returns_focus_and_the_next_key_rates(home):
    app = AuralisApp(home, audio=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("f5", "c")
        box = await until(pilot, lambda: isinstance(app.focused, Input) and app.focused, "the comment box")
        assert box.id == "comment"
        await pilot.press(*"too thin 12345", "enter")  # digits typed into the box rate nothing
        await until(pilot, lambda: focus_pane(app) == "profiles", "focus back on Profiles")
        assert open_pane(app) == "profiles" and app.pending_comment == "too thin 12345"
        before = len(feedback.read_log(home).events)
        await pilot.press("2")
        events = await lines_after(pilot, home, before)
        assert len(events) == before + 1
        rated = events[-1]
        assert (rated["rating"], rated["comment"]) == (2, "too thin 12345")
        assert rated["track"] == "05 Iron Tide.flac"  # the Library's selected row: nothing plays
        await pilot.press("u")
        undo = (await lines_after(pilot, home, before + 1))[-1]
        assert (undo["event"], undo["refers_to"]) == ("undo", rated["id"])
        await pilot.press("u")
        said = lambda: any("no rating to withdraw" in str(n.message) for n in app._notifications)  # noqa: E731
        await until(pilot, said, "'no rating to withdraw'")
        await settle(pilot)
        assert len(feedback.read_log(home).events) == before + 2


def test_an_empty_library_says_how_to_fill_it(home, tmp_path):
    run(_an_empty_library_says_how_to_fill_it(home, tmp_path / "new-home"))


async def _an_empty_library_says_how_to_fill_it(demo, new):
    for data, empty in ((new, True), (demo, False)):
        app = AuralisApp(data, audio=False)
        async with app.run_test(size=(80, 24)) as pilot:
            await until(pilot, lambda: app.sub_title.endswith(" tracks"), "the library read")  # noqa: B023
            await settle(pilot)
            hint = app.query_one("#library-empty", Static)
            assert hint.display is empty and "auralis scan DIR" in text(app, "#library-empty")


def test_filter_narrows_the_library(home):
    run(_filter_narrows_the_library(home))


async def _filter_narrows_the_library(home):
    app = AuralisApp(home, audio=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        table = app.query_one("#tracks", DataTable)
        assert table.row_count == 12
        await pilot.press("slash")
        await until(pilot, lambda: isinstance(app.focused, Input), "the filter box")
        await pilot.press(*"metal 3")  # a rating key typed into the filter rates nothing
        await until(pilot, lambda: table.row_count == 0, "no row matches 'metal 3'")
        await pilot.press("backspace", "backspace")
        await until(pilot, lambda: table.row_count == 2, "two metal rows")
        await pilot.press("escape")
        await until(pilot, lambda: table.row_count == 12 and app.focused is table, "the filter cleared")


#: Widgets shown only when asked for, and the key that shows and focuses each.
OPENERS = {"filter": "slash"}


def test_f_keys_switch_from_every_widget_of_every_panel(home):
    run(_f_keys_switch_from_every_widget_of_every_panel(home))


async def _f_keys_switch_from_every_widget_of_every_panel(home):
    app, ran = AuralisApp(home, audio=False), []
    real_run_action = app.run_action

    async def recorded(action, default_namespace=None):
        ran.append(action)
        return await real_run_action(action, default_namespace)

    async def press(name: str) -> None:
        """A key, once it has run its action (a key whose panel is already open changes nothing to wait for)."""
        done = len(ran)
        key(app, name)
        await until(pilot, lambda: len(ran) > done, f"{name} reaching its action")

    app.run_action = recorded
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        for number, pane in enumerate(PANES, 1):
            await press(f"f{number}")
            await until(pilot, lambda p=pane: open_pane(app) == p and focus_pane(app) == p, f"{pane} open and focused")
            # every focusable widget of the panel in turn, then every F-key from there
            focusables = [w for w in app.query_one(f"#{pane}").query("*") if w.focusable]
            assert focusables, f"{pane} has nothing that can take the keys"
            hidden = {w.id for w in focusables if not w.display}
            assert hidden <= set(OPENERS), f"{hidden - set(OPENERS)}: how does a listener open it?"
            for widget in focusables:
                for target_number, target in enumerate(PANES, 1):
                    await press(f"f{number}")
                    await until(pilot, lambda p=pane: open_pane(app) == p and focus_pane(app) == p, f"back on {pane}")
                    await press(OPENERS[widget.id]) if widget.id in OPENERS else widget.focus()
                    await until(pilot, lambda w=widget: app.focused is w, f"{widget!r} focused")
                    await press(f"f{target_number}")
                    await until(
                        pilot, lambda t=target: open_pane(app) == t and focus_pane(app) == t,
                        f"F{target_number} from {widget!r} on {pane}",
                    )  # fmt: skip


def test_every_panel_shows_its_data(home):
    run(_every_panel_shows_its_data(home))


async def _every_panel_shows_its_data(home):
    app = AuralisApp(home, audio=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("f2")
        await until(pilot, lambda: open_pane(app) == "playing" and focus_pane(app) == "playing", "Playing open")
        assert "Nothing playing" in text(app, "#now") and "sound off" in text(app, "#status")
        await pilot.press("f3")
        recommendations = app.query_one("#recommendations", DataTable)
        await until(pilot, lambda: open_pane(app) == "patterns" and app.focused is recommendations, "Patterns open")
        patterns = await until(pilot, lambda: "bootleg" in (shown := text(app, "#patterns-text")) and shown, "patterns")
        assert "treble_db +0.25" in patterns
        assert {key.value for key in recommendations.rows} >= {"bootleg", "metal", "live"}
        recommendations.move_cursor(row=[k.value for k in recommendations.rows].index("live"))
        await pilot.press("enter")  # asks first
        asking = "Apply to your personal layer for live"
        await until(pilot, lambda: asking in str(app.screen.query_one(Static).render()), "the confirmation")
        await pilot.press("y")
        from auralis_tui import personal

        await until(pilot, lambda: personal.current(home), "a personal layer version")
        assert personal.current(home).adjust == {"live": {"width": 0.075}}
        await until(pilot, lambda: "live" not in {k.value for k in recommendations.rows}, "the applied row leaves")
        await pilot.press("f4")
        await until(pilot, lambda: open_pane(app) == "trends" and focus_pane(app) == "trends", "Trends open")
        trends = await until(pilot, lambda: "2026-11" in (shown := text(app, "#trends-text")) and shown, "trends")
        assert "2026-06" in trends and "2026-11" in trends and "Satisfaction per profile version" in trends
        assert "Mastered vs original" in trends
        effectiveness = trends.split("Fix effectiveness")[1].splitlines()
        vintage = next(line for line in effectiveness if line.strip().startswith("vintage"))
        assert "0.20" in vintage and "(10)" in vintage  # 2 of 10 vintage fixes accepted and kept
        assert "Detection confidence after feedback" in trends
        await pilot.press("end")  # the charts below the fold are reachable from the keyboard
        await until(pilot, lambda: app.query_one("TrendsPanel").scroll_y > 0, "Trends scrolled to the end")
        await pilot.press("f5")
        await settle(pilot)
        versions = app.query_one("#versions", DataTable)
        await until(pilot, lambda: open_pane(app) == "profiles" and app.focused is versions, "Profiles open")
        assert versions.row_count == 8  # seven base profiles and the demo's studio 2.1
        versions.move_cursor(row=[k.value for k in versions.rows].index("studio@2.1"))
        await pilot.press("d")
        await until(pilot, lambda: "studio@2.0" in text(app, "#diff"), "the diff against its parent")
        assert "master.bass_db" in text(app, "#diff")
        versions.move_cursor(row=[k.value for k in versions.rows].index("metal@2.0"))
        await pilot.press("m")
        await until(pilot, lambda: app.query_one("ProfilesPanel").marked == "metal@2.0", "metal@2.0 marked")
        versions.move_cursor(row=[k.value for k in versions.rows].index("studio@2.1"))
        await pilot.press("r")  # the current version: nothing to roll back to, and no question asked
        said = lambda: any("studio 2.1 is current" in str(n.message) for n in app._notifications)  # noqa: E731
        await until(pilot, said, "'studio 2.1 is current'")
        assert app.screen is versions.screen
        await pilot.press("d")
        await until(pilot, lambda: "metal@2.0" in text(app, "#diff"), "the diff against the marked version")
        compared = text(app, "#diff")
        assert "studio@2.1" in compared and "detect." in compared
        await pilot.press("f6")
        box = app.query_one("#sql-query", Input)
        await until(pilot, lambda: open_pane(app) == "sql" and app.focused is box, "F6 putting the keys in the box")
        status = text(app, "#sql-status")
        assert all(view in status for view in store.VIEW_NAMES) and "fix_effectiveness" in status
        before = len(feedback.read_log(home).events)
        await pilot.press(*"SELECT count(*) AS n FROM tracks WHERE 1 < 2", "enter")
        result = app.query_one("#sql-result", DataTable)
        await until(pilot, lambda: result.row_count == 1, "the query's row")
        assert result.get_row_at(0)[0].plain == "12"
        assert len(feedback.read_log(home).events) == before  # the digits typed rated nothing
        await pilot.press("ctrl+a", "ctrl+k", *"DELETE FROM tracks", "enter")
        await until(pilot, lambda: "only SELECT" in text(app, "#sql-status"), "the refusal")


def test_tags_are_shown_as_written_never_as_markup(home):
    with store.connect(home) as con:
        con.execute("UPDATE tracks SET title = '[/bold]broken[/]', artist = 'A [feat. B]' WHERE title = 'Iron Tide'")
    run(_tags_are_shown_as_written(home))


async def _tags_are_shown_as_written(home):
    app = AuralisApp(home, audio=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        table = app.query_one("#tracks", DataTable)
        row = table.get_row_at(table.cursor_row)
        assert [str(row[0]), str(row[1])] == ["[/bold]broken[/]", "A [feat. B]"]
        assert "rates → [/bold]broken[/] · mastered" in text(app, "#status")
        await pilot.press("5")
        await settle(pilot)
        assert app.is_running and app._exception is None


def test_a_random_key_session_reaches_only_shown_actions(home):
    assert run_session(home, seed=20261130, presses=200) == []


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


JOURNEYS = {
    # switching back and forth: focus and highlight must follow the open panel
    "sql-after-patterns": ["f3", "f6", "type:SELECT type, count(*) AS n FROM tracks GROUP BY ALL ORDER BY 1", "enter"],
    "trends-scrolled": ["f5", "f4", "pagedown"],
    "help-on-profiles": ["f5", "question_mark"],
    "confirm-on-patterns": ["f3", "enter"],
    "comment-box": ["f2", "c", "type:sounds thin"],
}  # "type:TEXT" types TEXT into the focused box, then waits once


@pytest.mark.parametrize("journey", list(JOURNEYS))
def test_journey_snapshots(snap_compare, demo_home, journey):
    async def walk(pilot) -> None:
        await settle(pilot)
        for step in JOURNEYS[journey]:
            await pilot.press(*step.removeprefix("type:")) if step.startswith("type:") else await pilot.press(step)
            await settle(pilot)

    assert snap_compare(AuralisApp(demo_home, audio=False), terminal_size=(80, 24), run_before=walk)


PLAYING = """
import asyncio, sys
from pathlib import Path
from auralis_tui.ui.app import AuralisApp

async def until(pilot, condition):
    for _ in range(3000):
        if condition():
            return
        await pilot.pause(0.02)
    raise SystemExit("timed out")

async def main(home):
    app = AuralisApp(home)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.player is not None)
        player, asked = app.player, []  # what Enter asks the player for: the list, then where to start
        load, play = player.load, player.play
        player.load = lambda paths: asked.append(list(paths)) or load(paths)
        player.play = lambda key=0, seconds=0.0: asked.append(key) or play(key, seconds)
        await pilot.press("enter")
        await until(pilot, lambda: player.status().position > 0 or player.status().message)
        await pilot.press("space")  # the unpaced sink plays the whole list in seconds: pause it
        await until(pilot, lambda: player.status().state == "paused")
        paused = player.status().path  # a busy machine may have moved on before the pause
        await pilot.press("a")
        await until(pilot, lambda: player.status().mastered is False)
        print(asked[0][asked[1]].name, paused, player.status().mastered, sep="|")
        await pilot.press("f2")
        await until(pilot, lambda: "A original" in str(app.query_one("#now").render()))
        print(app.query_one("#now").render())

asyncio.run(main(Path(sys.argv[1])))
"""


def test_enter_plays_the_selection_and_a_switches_ab(demo_home, sink):
    result = subprocess.run(
        [sys.executable, "-c", PLAYING, str(demo_home)],
        capture_output=True, text=True, timeout=300, env={**os.environ, "HOME": str(sink)},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    first, rest = result.stdout.split("\n", 1)
    asked, paused, mastered = first.split("|")
    assert (asked, mastered) == ("05 Iron Tide.flac", "False")  # the first row (by artist) plays; A/B: original
    with store.connect(demo_home, read_only=True) as con:
        title, kind = con.execute("SELECT title, type FROM tracks WHERE path = ?", [paused]).fetchone()
    assert title in rest and "A original" in rest  # Playing shows the paused track, heard as the original
    assert f"type {kind}" in rest and "why: " in rest and "in range" in rest  # the verdict is explained
    assert (sink / "out.raw").stat().st_size > 0


def test_an_app_attaching_to_a_running_server_lists_the_library_the_server_reads(home, sink, monkeypatch):
    """Attaching: the first frame's library comes from the server, so the app opens no database
    before it (the attach figure of bench/tui.py); it is the same list, and the app plays through it."""
    from auralis_tui.naturalsort import library_order
    from engine.features import FINGERPRINT_VERSION

    from served import Served

    served = Served(home, sink)
    served.cli("status")  # the server runs
    expected = [row["path"] for row in library_order(store.library_rows(home, FINGERPRINT_VERSION))]

    def refused(*_args, **_kwargs):
        raise AssertionError("the attached app read the library from the database itself")

    monkeypatch.setattr(store, "library_rows", refused)
    run(_attached_app_lists_the_servers_library(home, expected))


async def _attached_app_lists_the_servers_library(home, expected):
    app = AuralisApp(home, audio=False, server=True)
    async with app.run_test(size=(120, 40)) as pilot:
        table = app.query_one("#tracks", DataTable)
        await until(pilot, lambda: table.row_count == len(expected), "the library listed")
        assert [key.value for key in table.rows] == expected
        assert "Iron Tide" in str(table.get_row_at(0)) and app.sub_title == f"{len(expected)} tracks"
        await until(pilot, lambda: app.remote, "the player attached")
        await pilot.press("enter")  # plays the list from the top through the server
        await until(pilot, lambda: app.player.status().path and str(app.player.status().path) == expected[0],
                    "the first track playing")  # fmt: skip


def test_a_server_that_could_not_start_is_tried_again_by_the_next_key(home, sink, monkeypatch):
    """The app opens while the server cannot start (a bad [mpd] setting); once the setting is fixed,
    enter starts it and plays, without reopening the app."""
    config = home / "config.toml"
    good = config.read_text()
    config.write_text(good + '\n[mpd]\nlisten = "0.0.0.0:6600"\n')  # no password: the server refuses
    monkeypatch.setenv("HOME", str(sink))  # the server the app starts plays into the file sink
    run(_server_tried_again(home, config, good))


async def _server_tried_again(home, config, good):
    app = AuralisApp(home, server=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.audio_message.startswith("no server"), "the failed start said")
        config.write_text(good)
        await pilot.press("enter")
        await until(pilot, lambda: app.remote and app.player.status().path, "the first track playing")
        await settle(pilot)


def test_results_arriving_while_the_app_closes_are_dropped(home):
    """q pressed just as a worker finishes (the queue, the library, a rating): no crash on the way out."""
    run(_results_arriving_while_the_app_closes(home))


async def _results_arriving_while_the_app_closes(home):
    from auralis_tui.ui import messages as msg

    def post_once_closing() -> None:  # as a worker thread whose result comes as the app shuts down
        while app.is_running:
            time.sleep(0.0005)
        for late in (msg.QueueLoaded([], None), msg.LibraryLoaded([]), msg.Notice("late", "warning", 1.0)):
            app.post_message(late)

    app = AuralisApp(home, audio=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        late = threading.Thread(target=post_once_closing)
        late.start()
    late.join()
    assert not (home / "crash.log").exists()


def test_playing_says_preparing_until_the_track_sounds():
    """A track that is decoding and being analysed has no duration yet: no "0:00 / 0:00"."""
    from pathlib import Path

    from auralis_tui.playstate import Status
    from auralis_tui.ui.panels.playing import describe

    preparing = describe(Status(state="playing", path=Path("a.flac"), position=0.0), "Prism", None, "")
    assert "preparing the track…" in preparing and "0:00" not in preparing
    sounding = describe(Status(state="playing", path=Path("a.flac"), position=75.0, duration=180.0), "Prism", None, "")
    assert "1:15 / 3:00" in sounding and "preparing" not in sounding
