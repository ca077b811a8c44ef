"""Patterns: keyword counts per type, and the changes the comments support (enter applies one)."""

from __future__ import annotations

from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import Static

from ... import patterns
from ..format import safe
from ..messages import MasteringChanged
from ..screens import Confirm
from .keys import Scroller, Table


class Recommendations(Table):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("enter", "select_cursor", "Apply")]


class PatternsPanel(Vertical):
    """The table lists what enter would apply now (ratings given to the mastering in use)."""

    def compose(self) -> ComposeResult:
        yield Recommendations(id="recommendations")
        with Scroller(id="patterns-detail"):
            yield Static("Loading patterns…", id="patterns-text")

    def on_mount(self) -> None:
        table = self.query_one(Table)
        table.add_column("Type", key="type")
        table.add_column("Change (enter applies it to your personal layer)", key="change")

    def opened(self) -> None:
        table = self.query_one(Table)
        (table if table.row_count else self.query_one(Scroller)).focus()

    def show(self, summaries: list, applicable: dict[str, list]) -> None:
        table = self.query_one(Table)
        table.clear()
        for kind, recommendations in applicable.items():
            changes = ", ".join(f"{r.parameter} {r.midpoint:+.2f}" for r in recommendations)
            table.add_row(kind, changes, key=kind)
        table.display = table.row_count > 0
        if table.row_count and self.query_one(Scroller).has_focus:  # it came while the panel was open
            table.focus()
        text = self.query_one("#patterns-text", Static)
        if not summaries:
            text.update("No ratings yet: rate tracks with 1–5.")
            return
        lines = []
        for summary in summaries:
            report = summary.patterns
            lines.append(
                f"[b]{summary.type}[/b]  {summary.samples} ratings, average {summary.average_rating:.2f}, "
                f"confidence {summary.average_confidence:.2f}"
            )
            wants = [f"{patterns.key_label(*key)} ×{n}" for key, n in report.wants.items() if n]
            if wants:
                lines.append("  wants: " + ", ".join(wants))
            for rec in report.recommendations:
                target = f"{rec.parameter} {rec.midpoint:+.2f}" if rec.parameter else rec.kind.replace("_", " ")
                lines.append(f"  → {target}: {safe(rec.reason)}")
        if not applicable:
            lines.append("\n[dim]Nothing to apply: no change is supported by ratings of the mastering in use.[/dim]")
        text.update("\n".join(lines))

    @on(Table.RowSelected, "#recommendations")
    def _selected(self, event: Table.RowSelected) -> None:
        """enter on a row: ask, then apply its change to the personal layer."""
        kind = event.row_key.value
        change = str(event.data_table.get_row(kind)[1])

        def answered(yes: bool | None) -> None:
            if yes:
                self.apply(kind)

        self.app.push_screen(Confirm(f"Apply to your personal layer for {kind}: {change}?"), answered)

    @work(thread=True, exclusive=True, group="apply", exit_on_error=False)
    def apply(self, kind: str) -> None:
        from ... import learning

        applied = learning.apply_patterns(self.app.home, kind)
        changed = ", ".join(f"{key} {old:+.2f} → {new:+.2f}" for key, old, new in applied.changes)
        self.post_message(MasteringChanged(f"personal layer {applied.version}: {kind} {changed}"))
