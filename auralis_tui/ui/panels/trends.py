"""Trends: SQL-backed charts of the ratings (mastered vs original first: does the mastering help?)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Static

from ...feedback import stars
from ..format import bar
from .keys import Scroller


class TrendsPanel(Scroller):
    """Charts as text bars; focusable, so ↑/↓/PgUp/PgDn/g/G reach the ones below the fold."""

    def compose(self) -> ComposeResult:
        yield Static("Loading trends…", id="trends-text")

    def opened(self) -> None:
        self.focus()

    def show(
        self, monthly: list[dict], distribution: list[tuple], versions: list[tuple], fixes: list[dict],
        confidences: list[dict], heard: list[dict],
    ) -> None:  # fmt: skip
        if not distribution:
            self.query_one(Static).update("No ratings yet: rate tracks with 1–5.")
            return
        lines = _heard_lines(heard)
        lines.append("\n[b]Average rating per month[/b] (mastered)")
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
        self.query_one(Static).update("\n".join(lines))


def _heard_lines(heard: list[dict]) -> list[str]:
    """Per type, the average rating of the mastered and of the original sound (the A/B key)."""
    lines = ["[b]Mastered vs original[/b] (average rating per type; rate the original after pressing a)"]
    for row in heard:
        mastered, original = row["mastered_average"], row["original_average"]
        m = f"{mastered:.2f} ({row['mastered_ratings']})" if mastered is not None else "–"
        o = f"{original:.2f} ({row['original_ratings']})" if original is not None else "–"
        verdict = ""
        if mastered is not None and original is not None and mastered != original:
            verdict = "  mastering helps" if mastered > original else "  original preferred"
        lines.append(f"  {row['type']:17.17s} mastered {m:11s} original {o:11s}{verdict}")
    return lines


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
