"""The panels of the app. Widgets only render what the app hands them; no I/O happens here."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import DataTable, Input, Static

from .. import patterns
from ..feedback import stars


def bar(value: float, full: float, width: int = 20) -> str:
    """A horizontal bar of eighth-blocks: ``value`` out of ``full`` over ``width`` cells."""
    cells = 0 if full <= 0 else max(0.0, min(1.0, value / full)) * width
    whole, part = int(cells), int((cells - int(cells)) * 8)
    return "█" * whole + ("▏▎▍▌▋▊▉"[part - 1] if part else "")


def minutes(seconds: float | None) -> str:
    seconds = max(0, int(seconds or 0))
    return f"{seconds // 60}:{seconds % 60:02d}"


class LibraryPanel(Vertical):
    """All tracks as a sortable, filterable table."""

    COLUMNS = ("Title", "Artist", "Album", "Time", "Type", "Conf", "Rated")

    def compose(self) -> ComposeResult:
        yield Input(placeholder="/ filter: artist, album, title or type", id="filter")
        yield DataTable(id="tracks", cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for column in self.COLUMNS:
            table.add_column(column, key=column.lower())
        self.query_one(Input).display = False

    CHUNK = 400  # rows added per event-loop turn, so a big library never stalls the UI

    _generation = 0

    def show(self, rows: list[dict], text: str = "") -> None:
        table = self.query_one(DataTable)
        table.clear()
        needle = text.lower()
        matching = [
            row
            for row in rows
            if not needle
            or needle in " ".join(str(row.get(k) or "") for k in ("title", "artist", "album", "type")).lower()
        ]
        self._generation += 1
        self._add_rows(matching, 0, self._generation)

    def _add_rows(self, rows: list[dict], start: int, generation: int) -> None:
        if generation != self._generation:  # a newer filter or reload took over
            return
        table = self.query_one(DataTable)
        for row in rows[start : start + self.CHUNK]:
            table.add_row(
                row.get("title") or "?",
                row.get("artist") or "",
                row.get("album") or "",
                minutes(row.get("duration")),
                row.get("type") or ("error" if row.get("error") else "…"),
                f"{row['confidence']:.2f}" if row.get("confidence") is not None else "",
                stars(row.get("last_rating")),
                key=row["path"],
            )
        if start + self.CHUNK < len(rows):
            self.call_later(self._add_rows, rows, start + self.CHUNK, generation)


class NowPlayingPanel(VerticalScroll):
    """What is playing, where, which version, and why it is mastered the way it is."""

    def compose(self) -> ComposeResult:
        yield Static("Nothing playing. Select a track and press enter.", id="now")
        yield Static("", id="why")
        yield Static("", id="rating-help")

    def show(self, status, rated: dict | None, comment: str) -> None:
        if not self.query("#now"):  # composing, or being torn down
            return
        now = self.query_one("#now", Static)
        if status is None or status.path is None:
            now.update("Nothing playing. Select a track and press enter." + _message(status))
        else:
            version = "hidden (blind)" if status.blind else ("B mastered" if status.mastered else "A original")
            progress = bar(status.position, status.duration or 1, 30)
            now.update(
                f"[b]{status.path.name}[/b]\n{status.state}  {minutes(status.position)} / {minutes(status.duration)}"
                f"  {progress}\nA/B: {version}   volume {status.volume:.0%}   underruns {status.underruns}"
                + _message(status)
            )
        info = status.info if status else None
        why = self.query_one("#why", Static)
        if info is None:
            why.update("")
        else:
            p = info.parameters
            applied = (
                f"bass {p['bass_db']:+.2f} dB  mid {p['mid_db']:+.2f} dB  treble {p['treble_db']:+.2f} dB  "
                f"width {p['width']:+.2f}  target {p['target_lufs']:.1f} LUFS"
            )
            version = info.profile_version
            if info.test_id:  # a blind A/B test: nothing on screen may tell the variants apart
                version, applied = "(blind A/B test)", "parameters hidden until the test stops"
            why.update(
                f"\ntype [b]{info.type}[/b] ({info.confidence:.2f}) — profile {info.profile_name} "
                f"{version}{' + personal ' + info.personal_version if info.personal_version else ''}\n"
                f"{applied}\nwhy: {', '.join(info.matched) or '-'} in range"
                + (f"; {', '.join(info.missed)} outside" if info.missed else "")
            )
        hint = "1–5 rate · c comment · u withdraw · y/x/z accept/reject/undo fix"
        last = f"\nlast: {stars(rated['rating'])} {rated['track']}" if rated else ""
        pending = f"\ncomment ready: “{comment}” — press 1–5" if comment else ""
        self.query_one("#rating-help", Static).update(f"\n{hint}{last}{pending}")


def _message(status) -> str:
    return f"\n[i]{status.message}[/i]" if status is not None and status.message else ""


class PatternsPanel(Vertical):
    """Keyword counts per type, and a table of the types whose comments support a change."""

    def compose(self) -> ComposeResult:
        yield DataTable(id="recommendations", cursor_type="row")
        with VerticalScroll():
            yield Static("Loading patterns…", id="patterns-text")

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for column in ("Type", "Change (enter applies it to your personal layer)"):
            table.add_column(column, key=column.split()[0].lower())

    def show(self, summaries: list) -> None:
        table = self.query_one(DataTable)
        table.clear()
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
                lines.append(f"  → {target}: {rec.reason}")
            changes = [f"{r.parameter} {r.midpoint:+.2f}" for r in report.recommendations if r.parameter]
            if changes:
                table.add_row(summary.type, ", ".join(changes), key=summary.type)
        text.update("\n".join(lines))


class TrendsPanel(VerticalScroll):
    """SQL-backed charts: average rating per month and type, distribution, per profile version."""

    def compose(self) -> ComposeResult:
        yield Static("Loading trends…", id="trends-text")

    def show(
        self, monthly: list[dict], distribution: list[tuple], versions: list[tuple], fixes: list[dict],
        confidences: list[dict],
    ) -> None:  # fmt: skip
        lines = ["[b]Average rating per month[/b]"]
        for row in monthly:
            lines.append(f"  {row['month']} {row['type']:17.17s} {bar(row['average_rating'], 5, 20):20s} "
                         f"{row['average_rating']:.2f} ({row['ratings']})")  # fmt: skip
        lines.append("\n[b]Rating distribution[/b]")
        most = max((n for _, n in distribution), default=1)
        for rating, count in distribution:
            lines.append(f"  {stars(rating)} {bar(count, most, 30):30s} {count}")
        lines.append("\n[b]Satisfaction per profile version[/b]")
        for profile, version, count, average in versions:
            lines.append(f"  {profile:17.17s} {version:5s} {bar(average, 5, 20):20s} {average:.2f} ({count})")
        lines += _effectiveness_lines(fixes)
        if confidences:
            lines.append("\n[b]Detection confidence after feedback[/b] (below the threshold: mastered as unknown)")
        for c in confidences:
            lines.append(f"  {c['type']:17.17s} {bar(c['average'], 1, 16):16s} {c['average']:.2f} "
                         f"({c['tracks']} tracks, {c['below_threshold']} below {c['threshold']:.2f})")  # fmt: skip
        self.query_one(Static).update("\n".join(lines) if monthly else "No ratings yet: rate tracks with 1–5.")


def _effectiveness_lines(fixes: list[dict]) -> list[str]:
    """Per type, then per parameter: effectiveness (accepted and kept ÷ decided) as a bar, accept
    and undo rates and the rating improvement after accepted fixes."""
    rows = [(f["type"], f) for f in fixes if f["parameter"] == "all"]
    rows += [(f["parameter"], f) for f in fixes if f["type"] == "all"]
    if not rows:
        return []
    lines = ["\n[b]Fix effectiveness[/b] (kept ÷ decided · accept · undo · rating change)"]
    for name, f in rows:
        improvement = "   –" if f["improvement"] is None else f"{f['improvement']:+.2f}"
        undo = "  –" if f["undo_rate"] is None else f"{f['undo_rate']:.2f}"
        lines.append(f"  {name:17.17s} {bar(f['effectiveness'] or 0, 1, 16):16s} {f['effectiveness'] or 0:.2f} "
                     f"acc {f['accept_rate'] or 0:.2f} undo {undo} {improvement} ({f['decisions']})")  # fmt: skip
    return lines


class ProfilesPanel(Horizontal):
    """Versions of every profile and a side-by-side diff of the two chosen ones."""

    def compose(self) -> ComposeResult:
        yield DataTable(id="versions", cursor_type="row")
        hint = "d compares the selected version with its parent; m marks one to compare with any other."
        yield Static(hint, id="diff")

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for column in ("Profile", "Ver", "Reason"):
            table.add_column(column, key=column.lower())

    def show(self, versions: list[tuple[str, str, str, bool]]) -> None:
        table = self.query_one(DataTable)
        table.clear()
        for name, version, reason, current in versions:
            table.add_row(name, version + ("*" if current else ""), reason, key=f"{name}@{version}")

    def show_diff(self, left: str, right: str, changes: list) -> None:
        lines = [f"[b]{left}[/b] → [b]{right}[/b]"]
        for change in changes:
            lines.append(f"  {change.key:30.30s} {change.old:9.4g} → [b]{change.new:<9.4g}[/b] ({change.delta:+.3g})")
        if not changes:
            lines.append("  identical")
        lines.append("\n[dim]r: roll back to the selected version[/dim]")
        self.query_one("#diff", Static).update("\n".join(lines))


class SqlPanel(Vertical):
    """A read-only SQL console over the documented views."""

    def compose(self) -> ComposeResult:
        yield Input(placeholder="SELECT month, type, average_rating FROM ratings_monthly", id="sql")
        yield Static("Views: tracks, feedback, ratings, ratings_monthly, rating_distribution, "
                     "profile_satisfaction, fix_events, track_ratings", id="sql-status")  # fmt: skip
        yield DataTable(id="sql-result", zebra_stripes=True)

    def show(self, columns: list[str], rows: list[tuple]) -> None:
        table = self.query_one("#sql-result", DataTable)
        table.clear(columns=True)
        table.add_columns(*columns)
        table.add_rows([tuple("" if v is None else str(v) for v in row) for row in rows[:1000]])
        self.query_one("#sql-status", Static).update(f"{len(rows)} row(s)")

    def error(self, message: str) -> None:
        self.query_one("#sql-status", Static).update(f"[red]{message}[/red]")
