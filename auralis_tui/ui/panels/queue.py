"""Queue: what the server plays next, in order; enter plays an item, d removes it, J/K move it."""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import Static

from ..format import cell
from ..messages import QueueAction
from .keys import Table

EMPTY = "The queue is empty: in the Library (F1), e adds a track, E plays it next, enter plays from it."


class QueueTable(Table):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "select_cursor", "Play"),
        Binding("d,delete", "edit('remove')", "Remove"),
        Binding("K", "edit('up')", "Move up"),
        Binding("J", "edit('down')", "Move down"),
    ]

    def action_edit(self, action: str) -> None:
        if self.row_count:
            self.post_message(QueueAction(action, int(self.selected_key()), self.cursor_row))
            if action in ("up", "down"):  # the cursor goes with the item
                self.action_cursor_up() if action == "up" else self.action_cursor_down()


class QueuePanel(Vertical):
    """The server's queue; the app hands it the items (no I/O here)."""

    def compose(self) -> ComposeResult:
        yield Static(EMPTY, id="queue-empty")
        yield QueueTable(id="queue-table", zebra_stripes=True)

    def opened(self) -> None:
        self.query_one(QueueTable).focus()

    CHUNK = 400  # rows per event-loop turn: a queue of a whole library never stalls the UI
    _generation = 0
    _marked: str | None = None

    def mark(self, current: int | None) -> None:
        """Move ▶ to the item playing now (without reloading the queue)."""
        table, now = self.query_one(QueueTable), None if current is None else str(current)
        if now == self._marked:
            return
        shown = {key.value for key in table.rows}
        for key, text in ((self._marked, ""), (now, "▶")):
            if key in shown:
                table.update_cell(key, "mark", text)
        self._marked = now

    def show(self, items: list[dict], current: int | None) -> None:
        table = self.query_one(QueueTable)
        keep = table.cursor_row
        table.clear(columns=not table.columns)
        if not table.columns:
            table.add_column("", width=1, key="mark")
            table.add_column("#", width=5, key="pos")
            table.add_column("Title", key="title")
        self.query_one("#queue-empty").display = not items
        self._generation, self._marked = self._generation + 1, None
        self._add_rows(items, current, 0, self._generation, keep)

    def _add_rows(self, items: list[dict], current: int | None, start: int, generation: int, keep: int) -> None:
        if generation != self._generation:  # a newer queue arrived
            return
        table = self.query_one(QueueTable)
        for item in items[start : start + self.CHUNK]:
            mark = "▶" if item["id"] == current else ""
            self._marked = str(current) if mark else self._marked
            table.add_row(mark, str(item["pos"] + 1), cell(item["title"]), key=str(item["id"]))
        if start <= keep < start + self.CHUNK and keep < table.row_count:
            table.move_cursor(row=keep, animate=False)
        if start + self.CHUNK < len(items):
            self.call_later(self._add_rows, items, current, start + self.CHUNK, generation, keep)

    @on(Table.RowSelected, "#queue-table")
    def _play(self, event: Table.RowSelected) -> None:
        self.post_message(QueueAction("play", int(event.row_key.value), event.cursor_row))
