"""Key sets the panels share: moving in a table or a scrolling text, with ←/→ left to playback."""

from __future__ import annotations

from typing import ClassVar

from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import DataTable, Input

#: ←/→ seek everywhere but in a text box: no panel scrolls sideways (the Library's columns fit).
SEEK: list[BindingType] = [
    Binding("left", "app.seek(-5)", "−5 s", show=False),
    Binding("right", "app.seek(5)", "+5 s", show=False),
]


class Table(DataTable):
    """A row table: j/k, g/G and Home/End jump as in cmus; ←/→ seek."""

    BINDINGS: ClassVar[list[BindingType]] = [
        *SEEK,
        Binding("j", "cursor_down", "Down", show=False),
        Binding("k", "cursor_up", "Up", show=False),
        Binding("g,home", "scroll_top", "First", show=False),
        Binding("G,end", "scroll_bottom", "Last", show=False),
    ]

    def __init__(self, **kwargs) -> None:
        super().__init__(cursor_type="row", **kwargs)

    def selected_key(self) -> str | None:
        if self.row_count == 0:
            return None
        return self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value


class Scroller(VerticalScroll):
    """Text that can take focus and scroll from the keyboard (↑/↓, j/k, PgUp/PgDn, g/G, Home/End)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        *SEEK,
        Binding("j", "scroll_down", "Down", show=False),
        Binding("k", "scroll_up", "Up", show=False),
        Binding("g,home", "scroll_home", "Top", show=False),
        Binding("G,end", "scroll_end", "Bottom", show=False),
    ]


class TextBox(Input):
    """A text box whose cursor holds still: over SSH every blink is a redraw (and a snapshot
    would catch it half-way)."""

    def on_mount(self) -> None:
        self.cursor_blink = False
