"""Profiles: every version of every profile; d diffs, m marks the left side, r rolls back."""

from __future__ import annotations

from typing import ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.widgets import Static
from textual.worker import get_current_worker

from ..format import cell, safe
from ..messages import MasteringChanged, Notice
from ..screens import Confirm
from .keys import Scroller, Table

HINT = "d compares the selected version with its parent; m marks one to compare with any other."


class ProfilesPanel(Horizontal):
    """Versions on the left, the side-by-side diff of the chosen two on the right."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("d", "diff", "Diff"),
        Binding("m", "mark", "Mark"),
        Binding("r", "rollback", "Roll back"),
    ]

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.marked: str | None = None
        self._versions: list[tuple[str, str, str, bool]] = []
        self._reason_width = 0

    def compose(self) -> ComposeResult:
        yield Table(id="versions")
        with Scroller(id="diff-view"):
            yield Static(HINT, id="diff")

    def on_mount(self) -> None:
        self.on_resize()

    def on_resize(self) -> None:
        """Fixed column widths (the reason takes what is left), so the table never depends on
        which rows were measured when."""
        table = self.query_one(Table)
        reason = max(8, table.size.width - 30) if table.size.width else 30
        if reason != self._reason_width:
            self._reason_width = reason
            table.clear(columns=True)
            for column, width in (("Profile", 16), ("Ver", 4), ("Reason", reason)):
                table.add_column(column, key=column.lower(), width=width)
            self.show(self._versions)

    def opened(self) -> None:
        """On screen: take the keys and read the versions again (a change may have made one)."""
        self.query_one(Table).focus()
        self.load()

    @work(thread=True, exclusive=True, group="profiles", exit_on_error=False)
    def load(self) -> None:
        from ... import profiles

        home, rows = self.app.home, []
        for name in profiles.names(home):
            current = profiles.current_version(home, name)
            for profile in profiles.history(home, name):
                rows.append((name, profile.version, profile.reason, profile.version == current))
        if not get_current_worker().is_cancelled:  # a newer load took over
            self.app.call_from_thread(self.show, rows)

    def show(self, versions: list[tuple[str, str, str, bool]]) -> None:
        self._versions = versions
        table = self.query_one(Table)
        keep = table.selected_key()
        table.clear()
        for name, version, reason, current in versions:
            table.add_row(name, version + ("*" if current else ""), cell(reason), key=f"{name}@{version}")
            if f"{name}@{version}" == keep:
                table.move_cursor(row=table.row_count - 1, animate=False)

    def action_mark(self) -> None:
        """Keep the selected version as the left side of the next diff."""
        self.marked = self.query_one(Table).selected_key()
        if self.marked:
            self.post_message(Notice(f"{self.marked} marked: select another version and press d"))

    def action_diff(self) -> None:
        ref = self.query_one(Table).selected_key()
        if ref:
            self.diff(ref, self.marked if self.marked != ref else None)

    def action_rollback(self) -> None:
        ref = self.query_one(Table).selected_key()
        if not ref:
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.rollback(ref)

        name, version = ref.split("@", 1)
        if (name, version, True) in {(n, v, current) for n, v, _, current in self._versions}:
            self.post_message(Notice(f"{name} {version} is current: select an earlier version to roll back to"))
            return
        self.app.push_screen(Confirm(f"Make a new version of {name} equal to {version}?"), answered)

    @work(thread=True, exclusive=True, group="profiles-diff", exit_on_error=False)
    def diff(self, ref: str, left: str | None = None) -> None:
        """``left`` → ``ref``; without ``left``, the version ``ref`` was derived from."""
        from ... import profiles

        if left is None:
            name, version = profiles.parse_ref(ref)
            left = f"{name}@{profiles.load(self.app.home, name, version).parent or version}"
        _, _, changes = profiles.diff(self.app.home, left, ref)
        self.app.call_from_thread(self.show_diff, left, ref, changes)

    def show_diff(self, left: str, right: str, changes: list) -> None:
        lines = [f"[b]{safe(left)}[/b] → [b]{safe(right)}[/b]"]
        for change in changes:
            lines.append(f"  {change.key:30.30s} {change.old:9.4g} → [b]{change.new:<9.4g}[/b] ({change.delta:+.3g})")
        if not changes:
            lines.append("  identical")
        lines.append("\n[dim]r: roll back to the selected version[/dim]")
        self.query_one("#diff", Static).update("\n".join(lines))

    @work(thread=True, exclusive=True, group="profiles-rollback", exit_on_error=False)
    def rollback(self, ref: str) -> None:
        from ... import profiles

        name, version = profiles.parse_ref(ref)
        result = profiles.rollback(self.app.home, name, version)
        self.post_message(MasteringChanged(f"{name}: new version {result.version} = {version}"))
        self.load()
