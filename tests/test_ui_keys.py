"""Smaller promises of the keyboard: jumps, the palette, broken rows, natural order."""

from __future__ import annotations

import asyncio

from textual.command import CommandInput, CommandList, CommandPalette
from textual.widgets import DataTable, Static

from auralis_tui import feedback, store
from auralis_tui.naturalsort import library_order, natural_key
from auralis_tui.ui.app import AuralisApp

from conftest import settle as until
from keysession import settle


def test_natural_order_puts_track2_before_track10():
    names = ["track10.flac", "Track2.flac", "track1.flac", "track11.flac"]
    assert sorted(names, key=natural_key) == ["track1.flac", "Track2.flac", "track10.flac", "track11.flac"]
    rows = [{"path": f"/m/{name}", "artist": None, "album": None} for name in names]
    assert [r["path"] for r in library_order(rows)] == [f"/m/{n}" for n in sorted(names, key=natural_key)]


def test_g_and_G_jump_and_the_palette_runs_app_commands(home):
    asyncio.run(_jumps_and_palette(home))


async def _jumps_and_palette(home):
    app = AuralisApp(home, audio=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        table = app.query_one("#tracks", DataTable)
        await pilot.press("G")
        await until(app, pilot, lambda: table.cursor_row == table.row_count - 1, "G on the last row")
        await pilot.press("g")
        await until(app, pilot, lambda: table.cursor_row == 0, "g on the first row")
        await pilot.press("end", "home", "pagedown")
        await until(app, pilot, lambda: table.cursor_row > 0, "pagedown below the first row")
        before = len(feedback.read_log(home).events)
        await pilot.press("ctrl+p", *"rate 3 stars")
        await until(app, pilot, lambda: first_command(app).startswith("Rate 3"), "the palette offering 'Rate 3…'")
        await pilot.press("enter")
        await until(app, pilot, lambda: len(feedback.read_log(home).events) > before, "the palette's rating")
        await settle(pilot)
        events = feedback.read_log(home).events
        assert len(events) == before + 1 and events[-1]["rating"] == 3
        await pilot.press("ctrl+p", "enter", "enter", "escape", "escape")  # once a ScreenStackError
        await settle(pilot)
        assert app.is_running and app._exception is None


def first_command(app) -> str:
    """The command the palette has highlighted for what was typed into it, if it is open."""
    if not isinstance(app.screen, CommandPalette):
        return ""
    commands = app.screen.query_one(CommandList)
    if commands.highlighted is None or app.screen.query_one(CommandInput).value != "rate 3 stars":
        return ""
    return str(commands.get_option_at_index(commands.highlighted).prompt)


def test_a_broken_file_is_marked_with_its_reason(home):
    with store.connect(home) as con:
        con.execute("UPDATE tracks SET error = 'not an audio file (format not recognised)' WHERE title = 'Prism'")
    asyncio.run(_broken_file(home))


async def _broken_file(home):
    app = AuralisApp(home, audio=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        table = app.query_one("#tracks", DataTable)
        titles = [str(table.get_row_at(i)[0]) for i in range(table.row_count)]
        row = titles.index("✗ Prism")
        assert str(table.get_row_at(row)[4]) == "broken"
        table.move_cursor(row=row)
        status = lambda: str(app.query_one("#status", Static).render())  # noqa: E731
        await until(app, pilot, lambda: "✗ not an audio file (format not recognised)" in status(), "the reason")
