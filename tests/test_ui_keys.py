"""Smaller promises of the keyboard: jumps, the palette, broken rows, natural order."""

from __future__ import annotations

import asyncio

from textual.widgets import DataTable, Static

from auralis_tui import feedback, store
from auralis_tui.naturalsort import library_order, natural_key
from auralis_tui.ui.app import AuralisApp

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
        assert table.cursor_row == table.row_count - 1
        await pilot.press("g")
        assert table.cursor_row == 0
        await pilot.press("end", "home", "pagedown")
        assert table.cursor_row > 0
        before = len(feedback.read_log(home).events)
        await pilot.press("ctrl+p", *"rate 3 stars")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        events = feedback.read_log(home).events
        assert len(events) == before + 1 and events[-1]["rating"] == 3
        await pilot.press("ctrl+p", "enter", "enter", "escape", "escape")  # once a ScreenStackError
        await settle(pilot)
        assert app.is_running and app._exception is None


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
        await settle(pilot)
        assert "✗ not an audio file (format not recognised)" in str(app.query_one("#status", Static).render())
