"""Natural order for people: "track2" before "track10", case ignored."""

from __future__ import annotations

import re
from collections.abc import Iterable

_DIGITS = re.compile(r"(\d+)")


def natural_key(text: str | None) -> tuple:
    """A sort key that compares runs of digits as numbers and the rest without case."""
    parts = _DIGITS.split((text or "").casefold())
    return tuple((0, int(part), "") if part.isdigit() else (1, 0, part) for part in parts if part)


def library_order(rows: Iterable[dict]) -> list[dict]:
    """Tracks by artist, album, disc, track number, then file path, each in natural order."""
    return sorted(
        rows,
        key=lambda r: (natural_key(r.get("artist")), natural_key(r.get("album")), r.get("disc_number") or 0,
                       r.get("track_number") or 0, natural_key(r["path"])),
    )  # fmt: skip
