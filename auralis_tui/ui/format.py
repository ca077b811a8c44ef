"""Small text helpers shared by the panels: stars, bars, times, and user text made safe to show."""

from __future__ import annotations

import re

from rich.text import Text
from textual.markup import escape

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def bar(value: float, full: float, width: int = 20) -> str:
    """A horizontal bar of eighth-blocks: ``value`` out of ``full`` over ``width`` cells."""
    cells = 0 if full <= 0 else max(0.0, min(1.0, value / full)) * width
    whole, part = int(cells), int((cells - int(cells)) * 8)
    return "█" * whole + ("▏▎▍▌▋▊▉"[part - 1] if part else "")


def minutes(seconds: float | None) -> str:
    seconds = max(0, int(seconds or 0))
    return f"{seconds // 60}:{seconds % 60:02d}"


def printable(value: object) -> str:
    """``value`` as text with control characters shown as ``\\xNN`` (a tag can't drive the terminal)."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", str(value))


def safe(value: object) -> str:
    """User text (tags, comments, file names) for a markup string: printable, and never markup."""
    return escape(printable(value))


def cell(value: object) -> Text:
    """User text for a table cell: shown as it is, never parsed as markup."""
    return Text(printable(value), no_wrap=True, overflow="ellipsis")
