"""SQL: a read-only console over the documented views; the box owns every key typed into it."""

from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import DataTable, Input, Static

from ..format import cell, safe
from .keys import TextBox

SHOWN_ROWS = 1000
COLUMN_MAX = 40  # cells; a longer value ends in …


class SqlPanel(Vertical):
    """Type a SELECT and press enter; the result fills the table below."""

    def compose(self) -> ComposeResult:
        yield TextBox(placeholder="SELECT month, type, average_rating FROM ratings_monthly", id="sql-query")
        yield Static("", id="sql-status")
        yield DataTable(id="sql-result", zebra_stripes=True)

    def opened(self) -> None:
        from ... import store  # here, not at start-up: the first frame never waits for DuckDB

        status = self.query_one("#sql-status", Static)
        if not status.content:  # nothing run yet: name the views
            status.update("Views: " + ", ".join(store.VIEW_NAMES))
        self.query_one("#sql-query", Input).focus()

    @on(Input.Submitted, "#sql-query")
    def _submitted(self, event: Input.Submitted) -> None:
        if event.value.strip():
            self.query_one("#sql-status", Static).update("running…")
            self.run_query(event.value)

    @work(thread=True, exclusive=True, group="sql", exit_on_error=False)
    def run_query(self, query: str) -> None:
        from ... import store

        home = self.app.home
        store.sync_feedback(home)
        try:
            result = store.run_user_query(home, query)
        except store.QueryRefused as exc:
            self.app.call_from_thread(self.error, str(exc))
            return
        self.app.call_from_thread(self.show, result.columns, result.rows)

    def show(self, columns: list[str], rows: list[tuple]) -> None:
        table = self.query_one("#sql-result", DataTable)
        table.clear(columns=True)
        shown = [tuple(cell("" if v is None else v) for v in row) for row in rows[:SHOWN_ROWS]]
        for n, name in enumerate(columns):  # widths set here: measured later, they depended on timing
            widest = max((row[n].cell_len for row in shown), default=0)
            table.add_column(cell(name), width=min(COLUMN_MAX, max(len(str(name)), widest)))
        table.add_rows(shown)
        more = f" (first {SHOWN_ROWS} shown)" if len(rows) > SHOWN_ROWS else ""
        self.query_one("#sql-status", Static).update(f"{len(rows)} row(s){more}")

    def error(self, message: str) -> None:
        self.query_one("#sql-status", Static).update(f"[red]{safe(message)}[/red]")
