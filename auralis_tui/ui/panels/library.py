"""Library: every track in natural order, a live filter, and columns that fit the terminal."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.events import Resize
from textual.widgets import Input, Static

from ...feedback import stars
from ..format import cell, minutes
from ..messages import PlayRequested, QueueRequested
from .keys import Table, TextBox

#: (key, label, width, drop rank): the title takes the room left; as the terminal narrows, the
#: column with the highest rank goes first. Title, rating and time always stay.
COLUMNS = (
    ("title", "Title", 0, 0),
    ("artist", "Artist", 16, 3),
    ("album", "Album", 16, 5),
    ("time", "Time", 5, 0),
    ("type", "Type", 8, 2),
    ("conf", "Conf", 4, 4),
    ("rated", "Rated", 5, 0),
)
EMPTY = ("No tracks yet: quit (q) and run `auralis scan DIR` on your music folder (with the same --home), "
         "then open auralis again; or try `auralis demo`.")
TITLE_MIN = 14
PADDING = 2  # a DataTable cell's padding, both sides


def fitting_columns(width: int) -> tuple[tuple[str, str, int], ...]:
    """The columns that fit in ``width`` cells, with the title's width filled in."""
    kept = list(COLUMNS)
    while sum(w + PADDING for _, _, w, _ in kept) + TITLE_MIN + PADDING > width:
        droppable = [c for c in kept if c[3]]
        if not droppable:
            break
        kept.remove(max(droppable, key=lambda c: c[3]))
    title = max(TITLE_MIN, width - sum(w + PADDING for _, _, w, _ in kept) - PADDING)
    return tuple((key, label, w or title) for key, label, w, _ in kept)


def row_cells(row: dict, columns) -> list:
    """One track's cells for ``columns``; a file that can't be read says so in its title and type."""
    broken = bool(row.get("error"))
    values = {
        "title": ("✗ " if broken else "") + (row.get("title") or Path(row["path"]).name),
        "artist": row.get("artist") or "",
        "album": row.get("album") or "",
        "time": minutes(row.get("duration")),
        "type": "broken" if broken else (row.get("type") or "…"),
        "conf": f"{row['confidence']:.2f}" if row.get("confidence") is not None else "",
        "rated": stars(row.get("last_rating")),
    }
    return [cell(values[key]) for key, _, _ in columns]


class TrackTable(Table):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("enter", "select_cursor", "Play")]


class FilterBox(TextBox):
    """The live filter; esc clears and leaves it."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "leave", "Close filter", show=False)]

    def action_leave(self) -> None:
        self.value = ""
        self.display = False
        self.screen.query_one("#tracks").focus()


class LibraryPanel(Vertical):
    """All tracks as a filterable table; enter plays from the selected row."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "filter", "Filter"),
        Binding("e", "enqueue(False)", "Add to queue"),
        Binding("E", "enqueue(True)", "Play next"),
    ]

    CHUNK = 400  # rows added per event-loop turn, so a big library never stalls the UI

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.rows: list[dict] = []
        self.by_path: dict[str, dict] = {}
        self._columns: tuple = ()
        self._generation = 0

    def compose(self) -> ComposeResult:
        yield FilterBox(placeholder="filter: artist, album, title or type · enter keeps it, esc clears", id="filter")
        yield Static(EMPTY, id="library-empty")
        yield TrackTable(id="tracks", zebra_stripes=True)

    def on_mount(self) -> None:
        self.query_one(FilterBox).display = False
        self.query_one("#library-empty").display = False  # until the library has been read

    def opened(self) -> None:
        self.query_one("#tracks").focus()

    def action_enqueue(self, next_up: bool) -> None:
        row = self.selected()
        if row is not None:
            self.post_message(QueueRequested([Path(row["path"])], next_up))

    def action_filter(self) -> None:
        box = self.query_one(FilterBox)
        box.display = True
        box.focus()

    @on(Input.Changed, "#filter")
    def _filter_changed(self, _event: Input.Changed) -> None:
        self._fill()

    @on(Input.Submitted, "#filter")
    def _filter_kept(self, event: Input.Submitted) -> None:
        event.input.display = bool(event.value)
        self.opened()

    @on(Table.RowSelected, "#tracks")
    def _play(self, event: Table.RowSelected) -> None:
        table = self.query_one(Table)
        paths = [Path(table.coordinate_to_cell_key((i, 0)).row_key.value) for i in range(table.row_count)]
        self.post_message(PlayRequested(paths, event.cursor_row))

    def on_resize(self, event: Resize) -> None:
        if fitting_columns(event.size.width - 2) != self._columns:
            self._fill()

    def show(self, rows: list[dict]) -> None:
        self.rows = rows
        self.by_path = {row["path"]: row for row in rows}
        self.query_one("#library-empty").display = not rows
        self._fill()

    def selected(self) -> dict | None:
        return self.by_path.get(self.query_one(Table).selected_key() or "")

    def show_rating(self, path: str, given: int) -> None:
        """Update one row in place (a reload would move the cursor)."""
        if path in self.by_path:
            self.by_path[path]["last_rating"] = given
        table = self.query_one(Table)
        if any(key == "rated" for key, _, _ in self._columns) and path in {k.value for k in table.rows}:
            table.update_cell(path, "rated", cell(stars(given)))

    def _fill(self) -> None:
        """Rebuild the table for the current width and filter, keeping the cursor's track."""
        table = self.query_one(Table)
        keep = table.selected_key()
        columns = fitting_columns(self.size.width - 2)
        if columns != self._columns:
            self._columns = columns
            table.clear(columns=True)
            for key, label, width in columns:
                table.add_column(label, width=width, key=key)
        else:
            table.clear()
        needle = self.query_one(FilterBox).value.lower()
        fields = ("title", "artist", "album", "type")
        matching = [r for r in self.rows if needle in " ".join(str(r.get(k) or "") for k in fields).lower()]
        self._generation += 1
        self._add_rows(matching, 0, self._generation, keep)

    def _add_rows(self, rows: list[dict], start: int, generation: int, keep: str | None) -> None:
        if generation != self._generation:  # a newer filter or reload took over
            return
        table = self.query_one(Table)
        for row in rows[start : start + self.CHUNK]:
            table.add_row(*row_cells(row, self._columns), key=row["path"])
            if row["path"] == keep:
                table.move_cursor(row=table.row_count - 1, animate=False)
        if start + self.CHUNK < len(rows):
            self.call_later(self._add_rows, rows, start + self.CHUNK, generation, keep)
