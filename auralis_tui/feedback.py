"""THE owner of ``personal/feedback/ratings.jsonl``: the append-only feedback log.

One JSON object per line (schema below). Writers take an exclusive lock on a sibling lock
file, start on a fresh line if a crashed writer left a torn tail, write the whole line with
``O_APPEND`` in one call and ``fsync``. Readers never fail on a bad line: they skip it and count
it. Rewrites (``forget``) happen under the same lock into a temporary file that replaces the log
only once complete, so a crash leaves the old log or the new one.
"""

from __future__ import annotations

import fcntl
import json
import os
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

SCHEMA_VERSION = 1
LOG_RELATIVE = Path("personal/feedback/ratings.jsonl")
EVENTS = ("rating", "accept", "reject", "undo", "modify")
FIX_EVENTS = EVENTS[1:]
RATINGS = (1, 2, 3, 4, 5)  # worst to best
WHOLE_FIX = "profile"  # ``fix.parameter`` of a decision about the whole applied mastering

#: Every field of a line and its DuckDB type: the log's schema, used by readers in SQL.
DUCKDB_COLUMNS: dict[str, str] = {
    "schema": "INTEGER",
    "id": "VARCHAR",  # uuid4 hex
    "timestamp": "TIMESTAMP",  # UTC, ISO-8601 with a Z
    "event": "VARCHAR",  # one of EVENTS
    "track": "VARCHAR",  # file name
    "track_path": "VARCHAR",
    "detected_type": "VARCHAR",
    "confidence": "JSON",  # number 0..1 (JSON so a quoted "0.8" is caught, not converted)
    "philosophy": "VARCHAR",  # the profile's title, e.g. "HD Bright Transparent"
    "rating": "JSON",  # whole number 1..5 for rating events (JSON so "4", 4.5 or true are caught)
    "comment": "VARCHAR",
    "fingerprint": "JSON",  # the 25 named values
    "parameters_applied": "STRUCT(bass_db DOUBLE, mid_db DOUBLE, treble_db DOUBLE, width DOUBLE, "
    "target_lufs DOUBLE, ceiling_dbtp DOUBLE)",
    "profile": "STRUCT(name VARCHAR, version VARCHAR)",
    "personal_version": "VARCHAR",
    "variant": "VARCHAR",  # blind A/B: "control" | "treatment"
    "test_id": "VARCHAR",
    "fix": "STRUCT(parameter VARCHAR, delta DOUBLE)",  # fix events: the change concerned
    "refers_to": "VARCHAR",  # fix events: id of the rating they answer
}
APPLIED_KEYS = ("bass_db", "mid_db", "treble_db", "width", "target_lufs", "ceiling_dbtp")


class FeedbackError(ValueError):
    """An event that cannot be recorded, or a log that cannot be written; the message says why."""


def stars(rating: int | None) -> str:
    """A rating as five stars, e.g. ``★★★★☆`` for 4; empty for no (or an invalid) rating."""
    if rating not in RATINGS:
        return ""
    return "★" * int(rating) + "☆" * (len(RATINGS) - int(rating))


def log_path(home: Path) -> Path:
    return home / LOG_RELATIVE


def utc_timestamp(moment: datetime | None = None) -> str:
    """UTC ISO-8601 with microseconds and a ``Z``: sortable as text."""
    moment = (moment or datetime.now(UTC)).astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_timestamp(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def make_event(
    event: str,
    *,
    track_path: str | Path,
    detected_type: str,
    confidence: float,
    profile: Mapping[str, str],
    parameters_applied: Mapping[str, float],
    fingerprint: Mapping[str, float] | None = None,
    philosophy: str = "",
    rating: int | None = None,
    comment: str = "",
    personal_version: str | None = None,
    when: datetime | None = None,
    **extra: object,
) -> dict:
    """A complete, validated event line (as a dict) with a fresh id and timestamp."""
    record = {
        "schema": SCHEMA_VERSION,
        "id": uuid.uuid4().hex,
        "timestamp": utc_timestamp(when),
        "event": event,
        "track": Path(track_path).name,
        "track_path": str(track_path),
        "detected_type": detected_type,
        "confidence": round(float(confidence), 4),
        "philosophy": philosophy,
        "rating": rating,
        "comment": comment,
        "fingerprint": dict(fingerprint or {}),
        "parameters_applied": {k: float(parameters_applied[k]) for k in APPLIED_KEYS if k in parameters_applied},
        "profile": {"name": profile["name"], "version": profile["version"]},
        "personal_version": personal_version,
        **{k: v for k, v in extra.items() if v is not None},
    }
    problem = problem_with(record)
    if problem:
        raise FeedbackError(problem)
    return record


def problem_with(record: object) -> str | None:
    """Why ``record`` is not a valid event line, or None when it is."""
    if not isinstance(record, dict):
        return "not a JSON object"
    for name in ("id", "timestamp", "event"):
        if not isinstance(record.get(name), str) or not record[name]:
            return f"missing {name}"
    if record["event"] not in EVENTS:
        return f"event must be one of {', '.join(EVENTS)}, not {record['event']!r}"
    try:
        parse_timestamp(record["timestamp"])
    except ValueError:
        return f"bad timestamp {record['timestamp']!r}"
    rating = record.get("rating")
    if record["event"] == "rating" and rating is None:
        return "a rating event needs a rating"
    if rating is not None and (isinstance(rating, bool) or rating not in RATINGS):
        return f"rating must be a whole number from 1 to 5, not {rating!r}"
    confidence = record.get("confidence")
    if confidence is not None and not (isinstance(confidence, int | float) and 0.0 <= confidence <= 1.0):
        return f"confidence must be between 0 and 1, not {confidence!r}"
    return None


#: The same checks as :func:`problem_with`, as a SQL predicate over ``DUCKDB_COLUMNS`` (a line
#: DuckDB cannot parse into those types arrives as all-NULL and fails it too).
VALID_SQL = f"""id IS NOT NULL AND id <> '' AND timestamp IS NOT NULL
    AND event IN ({", ".join(f"'{e}'" for e in EVENTS)})
    AND (coalesce(json_type(rating), 'NULL') <> 'NULL' OR event <> 'rating')
    AND (coalesce(json_type(rating), 'NULL') = 'NULL'
         OR json_type(rating) = 'UBIGINT' AND rating::INTEGER BETWEEN 1 AND 5)
    AND (coalesce(json_type(confidence), 'NULL') = 'NULL'
         OR json_type(confidence) IN ('UBIGINT', 'DOUBLE') AND confidence::DOUBLE BETWEEN 0 AND 1)"""


# --- writing -----------------------------------------------------------------------------------


@contextmanager
def locked(home: Path) -> Iterator[Path]:
    """Hold the log's exclusive lock (a sibling ``.lock`` file whose inode never changes)."""
    path = log_path(home)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path.with_name(path.name + ".lock"), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield path
    finally:
        os.close(fd)  # closing releases the lock


def append(home: Path, records: Sequence[Mapping] | Mapping) -> None:
    """Append one or more events: one locked ``O_APPEND`` write of whole lines, then ``fsync``."""
    batch = [records] if isinstance(records, Mapping) else list(records)
    for record in batch:
        problem = problem_with(dict(record))
        if problem:
            raise FeedbackError(problem)
    data = "".join(json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n" for record in batch)
    with locked(home) as path:
        fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            size = os.fstat(fd).st_size
            if size and os.pread(fd, 1, size - 1) != b"\n":
                data = "\n" + data  # a crashed writer left a torn line: never glue onto it
            payload = data.encode("utf-8")
            while payload:
                payload = payload[os.write(fd, payload) :]
            os.fsync(fd)
        finally:
            os.close(fd)


# --- reading -----------------------------------------------------------------------------------


@dataclass
class LogRead:
    """Valid events read, lines skipped as torn or invalid, and the byte offset read up to."""

    events: list[dict]
    skipped: int
    end: int


def complete_bytes(path: Path, offset: int = 0) -> tuple[bytes, int]:
    """The log's bytes from ``offset`` up to and including its last newline, and that end offset.

    A line still being written (no newline yet) is left for the next read.
    """
    try:
        with open(path, "rb") as handle:
            handle.seek(offset)
            data = handle.read()
    except FileNotFoundError:
        return b"", offset
    cut = data.rfind(b"\n") + 1
    return data[:cut], offset + cut


def complete_range(path: Path, offset: int = 0, chunk: int = 1 << 20) -> tuple[int, int]:
    """Like :func:`complete_bytes` without holding the bytes: (end offset, non-empty lines)."""
    end, lines, previous = offset, 0, b"\n"
    try:
        with open(path, "rb") as handle:
            handle.seek(offset)
            position = offset
            while block := handle.read(chunk):
                newlines = block.count(b"\n")
                if newlines:
                    blank = block.count(b"\n\n") + (previous == b"\n" and block[:1] == b"\n")
                    lines += newlines - blank
                    end = position + block.rfind(b"\n") + 1
                position += len(block)
                previous = block[-1:]
    except FileNotFoundError:
        pass
    return end, lines


def parse_line(line: bytes) -> dict | None:
    """The event on one non-empty line, or None when the line is torn or invalid."""
    try:
        record = json.loads(line)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None
    return None if problem_with(record) else record


def parse_lines(data: bytes) -> tuple[list[dict], int]:
    """Valid events in ``data`` and how many non-empty lines were skipped."""
    parsed = [parse_line(line) for line in data.splitlines() if line.strip()]
    events = [event for event in parsed if event is not None]
    return events, len(parsed) - len(events)


def stream_events(path: Path, chunk: int = 1 << 20) -> Iterator[dict | None]:
    """Each complete non-empty line's event (None for a torn or invalid one), read in 1 MB chunks,
    so a million-line log is never held in memory; a last line without its newline is left out."""
    if not path.exists():
        return
    with open(path, "rb") as handle:
        rest = b""
        while block := handle.read(chunk):
            lines = (rest + block).split(b"\n")
            rest = lines.pop()
            yield from (parse_line(line) for line in lines if line.strip())


def read_log(home: Path, offset: int = 0) -> LogRead:
    """Every complete valid event from ``offset`` on; torn or invalid lines are counted, not fatal."""
    data, end = complete_bytes(log_path(home), offset)
    events, skipped = parse_lines(data)
    return LogRead(events, skipped, end)


def log_identity(home: Path) -> tuple[int, int] | None:
    """(inode, size) of the log, or None when there is none: a new inode means it was rewritten."""
    try:
        status = log_path(home).stat()
    except FileNotFoundError:
        return None
    return status.st_ino, status.st_size


# --- rewriting ---------------------------------------------------------------------------------


def rewrite(home: Path, keep: Callable[[dict], bool]) -> tuple[int, int]:
    """Keep only events for which ``keep`` is true (and drop invalid lines); returns (kept, dropped).

    The new log is written beside the old one, fsynced, and renamed over it under the lock, so
    a crash at any point leaves one complete log.
    """
    kept = dropped = 0
    with locked(home) as path:
        partial = path.with_name(f".{path.name}.partial")
        with open(partial, "w", encoding="utf-8") as handle:
            for event in stream_events(path):
                if event is not None and keep(event):
                    handle.write(json.dumps(event, ensure_ascii=False, separators=(",", ":")) + "\n")
                    kept += 1
                else:
                    dropped += 1
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(partial, path)
        directory = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
    return kept, dropped
