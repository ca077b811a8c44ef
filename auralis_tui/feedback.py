"""THE owner of ``personal/feedback/ratings.jsonl``: the append-only feedback log.

One JSON object per line (schema below). Writers take an exclusive lock on a sibling lock
file, start on a fresh line if a crashed writer left a torn tail, write the whole line with
``O_APPEND`` in one call and ``fsync``. Readers never fail on a bad line: they skip it and count
it. Rewrites (``forget``) happen under the same lock into a temporary file that replaces the log
only once complete, so a crash leaves the old log or the new one.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import NamedTuple

SCHEMA_VERSION = 1
LOG_RELATIVE = Path("personal/feedback/ratings.jsonl")
EVENTS = ("rating", "accept", "reject", "undo", "modify")
FIX_EVENTS = EVENTS[1:]
RATINGS = (1, 2, 3, 4, 5)  # worst to best
WHOLE_FIX = "profile"  # ``fix.parameter`` of a decision about the whole applied mastering

#: Every field of a line, read by DuckDB as raw JSON so the checks below see the real types
#: (a typed column would quietly turn 5 into "5" or NaN into a number).
DUCKDB_COLUMNS: dict[str, str] = {
    name: "JSON"
    for name in (
        "schema", "id", "timestamp", "event", "track", "track_path", "detected_type", "confidence", "philosophy",
        "rating", "comment", "fingerprint", "parameters_applied", "profile", "personal_version", "variant",
        "test_id", "fix", "refers_to", "heard",
    )
}  # fmt: skip
APPLIED_KEYS = ("bass_db", "mid_db", "treble_db", "width", "target_lufs", "ceiling_dbtp")
HEARD = ("mastered", "original")  # what the listener heard when rating (absent: mastered)
COMMENT_LIMIT = 4096  # bytes of a comment that are kept and analysed
NUMBER_LIMIT = 1e12  # any number in a line is finite and within ±this
MAX_LINE_BYTES = 1 << 20  # a longer line is invalid (ours stay under 8 KB): no reader ever holds more


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
    """A complete, validated event line (as a dict) with a fresh id and timestamp. A rating says
    what it was given to (``heard``): the mastering unless the listener switched to the original."""
    if event == "rating":
        extra.setdefault("heard", "mastered")
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


# --- the one validator ------------------------------------------------------------------------
# Each rule below exists twice, side by side: in Python (``problem_with``: appends, export, forget,
# the app's reads) and as SQL over the raw JSON columns (``VALID_SQL``: ingest). tests/test_hardening.py
# checks that both refuse exactly the same lines of a hostile corpus.

_TEXT_FIELDS = ("track", "track_path", "detected_type", "philosophy", "comment", "personal_version", "variant",
                "test_id", "refers_to")  # fmt: skip
_NUMBER_MAPS = ("fingerprint", "parameters_applied")
_TIMESTAMP = r"[1-9][0-9]{3}-[0-9]{2}-[0-9]{2}T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]{1,6})?(Z|\+00:00)"
_TIMESTAMP_RE = re.compile(_TIMESTAMP)


def is_number(value: object) -> bool:
    """A finite JSON number within ±``NUMBER_LIMIT`` (booleans are not numbers)."""
    return type(value) in (int, float) and -NUMBER_LIMIT <= value <= NUMBER_LIMIT  # NaN fails both


def problem_with(record: object) -> str | None:
    """Why ``record`` is not a valid event line, or None when it is."""
    if not isinstance(record, dict):
        return "not a JSON object"
    for name in ("id", "timestamp", "event"):
        if not isinstance(record.get(name), str) or not record[name]:
            return f"missing {name}"
    event = record["event"]
    if event not in EVENTS:
        return f"event must be one of {', '.join(EVENTS)}, not {event!r}"
    if not _TIMESTAMP_RE.fullmatch(record["timestamp"]) or not _parses(record["timestamp"]):
        return f"bad timestamp {record['timestamp']!r} (UTC ISO-8601 with a Z)"
    if record.get("schema") not in (None, SCHEMA_VERSION) or isinstance(record.get("schema"), bool | float):
        return f"schema must be {SCHEMA_VERSION}, not {record['schema']!r}"
    for name in _TEXT_FIELDS:
        if not isinstance(record.get(name), str | None):
            return f"{name} must be text, not {record[name]!r}"
    rating = record.get("rating")
    if event == "rating" and rating is None:
        return "a rating event needs a rating"
    if event == "rating" and (type(rating) is not int or rating not in RATINGS):
        return f"rating must be a whole number from 1 to 5, not {rating!r}"
    if event != "rating" and rating is not None:
        return f"a {event} event carries no rating"
    confidence = record.get("confidence")
    if confidence is not None and not (is_number(confidence) and 0 <= confidence <= 1):
        return f"confidence must be a number from 0 to 1, not {confidence!r}"
    for name in _NUMBER_MAPS:
        values = record.get(name)
        if values is not None and not (isinstance(values, dict) and all(map(is_number, values.values()))):
            return f"{name} must map names to finite numbers"
    profile = record.get("profile")
    if profile is not None and not (
        isinstance(profile, dict) and all(isinstance(profile.get(k), str | None) for k in ("name", "version"))
    ):
        return "profile must be an object with a text name and version"
    fix = record.get("fix")
    if fix is not None and not (
        isinstance(fix, dict) and isinstance(fix.get("parameter"), str | None)
        and (fix.get("delta") is None or is_number(fix["delta"]))
    ):  # fmt: skip
        return "fix must be an object with a text parameter and a finite delta"
    if event == "modify" and (fix is None or fix.get("parameter") is None or fix.get("delta") is None):
        return "a modify event needs fix.parameter and fix.delta"
    if record.get("heard") not in (None, *HEARD):
        return f"heard must be one of {', '.join(HEARD)}, not {record['heard']!r}"
    return None


def _parses(timestamp: str) -> bool:
    try:
        parse_timestamp(timestamp)
    except ValueError:
        return False
    return True


def _sql_text(expr: str) -> str:
    return f"coalesce(json_type({expr}), 'NULL') IN ('VARCHAR', 'NULL')"


def _sql_number(expr: str) -> str:
    number = f"json_type({expr}) IN ('UBIGINT', 'BIGINT', 'DOUBLE')"
    return f"({number} AND abs(try_cast({expr} AS DOUBLE)) <= {NUMBER_LIMIT:.0f})"


def _sql_optional(expr: str, check: str) -> str:
    return f"(coalesce(json_type({expr}), 'NULL') = 'NULL' OR {check})"


def _sql_text_value(name: str) -> str:
    return f"(json_type({name}) = 'VARCHAR' AND {name}->>'$' <> '')"


def _sql_in(values: Sequence[str]) -> str:
    return "(" + ", ".join(f"'{value}'" for value in values) + ")"


_ts = "(timestamp->>'$')"
#: The line's timestamp as a naive UTC TIMESTAMP (NULL when it is not one).
SQL_TIMESTAMP = f"try_cast(regexp_replace({_ts}, '(Z|[+]00:00)$', '') AS TIMESTAMP)"
_PROFILE_NAME, _PROFILE_VERSION = "profile->'name'", "profile->'version'"
_FIX_PARAMETER, _FIX_DELTA = "fix->'parameter'", "fix->'delta'"
_all_numbers = "coalesce(list_bool_and(list_transform(json_extract({0}, '$.*'), lambda v: {1})), true)"

#: :func:`problem_with` as a SQL predicate over ``DUCKDB_COLUMNS`` (a line DuckDB cannot parse
#: arrives as all-NULL and fails it too).
VALID_SQL = " AND ".join(
    [
        _sql_text_value("id"),
        _sql_text_value("timestamp"),
        f"json_type(event) = 'VARCHAR' AND event->>'$' IN {_sql_in(EVENTS)}",
        f"regexp_full_match({_ts}, '{_TIMESTAMP}')",
        f"{SQL_TIMESTAMP} IS NOT NULL",
        _sql_optional(
            "schema", f"json_type(schema) IN ('UBIGINT', 'BIGINT') AND try_cast(schema AS BIGINT) = {SCHEMA_VERSION}"
        ),
        *(_sql_text(name) for name in _TEXT_FIELDS),
        "CASE WHEN event->>'$' = 'rating' THEN json_type(rating) IN ('UBIGINT', 'BIGINT') "
        "AND try_cast(rating AS BIGINT) BETWEEN 1 AND 5 ELSE coalesce(json_type(rating), 'NULL') = 'NULL' END",
        _sql_optional("confidence", f"{_sql_number('confidence')} AND try_cast(confidence AS DOUBLE) BETWEEN 0 AND 1"),
        *(
            _sql_optional(name, f"json_type({name}) = 'OBJECT' AND {_all_numbers.format(name, _sql_number('v'))}")
            for name in _NUMBER_MAPS
        ),
        _sql_optional(
            "profile",
            f"json_type(profile) = 'OBJECT' AND {_sql_text(_PROFILE_NAME)} AND {_sql_text(_PROFILE_VERSION)}",
        ),
        _sql_optional(
            "fix",
            f"json_type(fix) = 'OBJECT' AND {_sql_text(_FIX_PARAMETER)} "
            f"AND {_sql_optional(_FIX_DELTA, _sql_number(_FIX_DELTA))}",
        ),
        f"(event->>'$' <> 'modify' OR coalesce(json_type({_FIX_PARAMETER}), 'NULL') <> 'NULL' "
        f"AND coalesce(json_type({_FIX_DELTA}), 'NULL') <> 'NULL')",
        _sql_optional("heard", f"json_type(heard) = 'VARCHAR' AND heard->>'$' IN {_sql_in(HEARD)}"),
    ]
)


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
    """Append one or more events: one locked ``O_APPEND`` write of whole lines, then ``fsync``.

    A write that fails part-way (a full disk) is cut back off, so the log never keeps half a line."""
    batch = [records] if isinstance(records, Mapping) else list(records)
    for record in batch:
        problem = problem_with(dict(record))
        if problem:
            raise FeedbackError(problem)
    try:
        lines = [dumps(record) + "\n" for record in batch]
    except ValueError as exc:  # a non-finite number in a field the validator does not know
        raise FeedbackError(f"not written: {exc}") from None
    if any(len(line.encode("utf-8")) > MAX_LINE_BYTES for line in lines):
        raise FeedbackError(f"not written: an event line may hold at most {MAX_LINE_BYTES} bytes")
    data = "".join(lines)
    with locked(home) as path:
        fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            size = os.fstat(fd).st_size
            if size and os.pread(fd, 1, size - 1) != b"\n":
                data = "\n" + data  # a crashed writer left a torn line: never glue onto it
            payload = data.encode("utf-8")
            try:
                while payload:
                    payload = payload[os.write(fd, payload) :]
                os.fsync(fd)
            except OSError as exc:
                os.ftruncate(fd, size)
                raise FeedbackError(f"{path}: not written: {exc.strerror or exc}") from None
        finally:
            os.close(fd)


def cap_comment(text: str) -> tuple[str, bool]:
    """``text`` cut to ``COMMENT_LIMIT`` bytes of UTF-8 (never inside a character), and whether it was cut."""
    data = text.encode("utf-8")
    if len(data) <= COMMENT_LIMIT:
        return text, False
    return data[:COMMENT_LIMIT].decode("utf-8", "ignore"), True


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


class Range(NamedTuple):
    end: int  # offset just after the last complete line
    lines: int  # non-empty complete lines
    oversized: list[tuple[int, int]]  # (start, end) of lines longer than MAX_LINE_BYTES: invalid


def complete_range(path: Path, offset: int = 0) -> Range:
    """Like :func:`complete_bytes` without holding the bytes (read in blocks of ``MAX_LINE_BYTES``)."""
    end, lines, previous, oversized = offset, 0, b"\n", []
    line_start = offset  # where the line in progress began
    try:
        with open(path, "rb") as handle:
            handle.seek(offset)
            position = offset
            while block := handle.read(MAX_LINE_BYTES):
                newlines = block.count(b"\n")
                if newlines:
                    blank = block.count(b"\n\n") + (previous == b"\n" and block[:1] == b"\n")
                    lines += newlines - blank
                    first = position + block.find(b"\n")
                    if first - line_start > MAX_LINE_BYTES:  # lines inside one block are shorter
                        oversized.append((line_start, first + 1))
                    end = line_start = position + block.rfind(b"\n") + 1
                position += len(block)
                previous = block[-1:]
    except FileNotFoundError:
        pass
    return Range(end, lines, oversized)


def _refuse_constant(name: str) -> float:
    raise ValueError(f"{name} is not JSON")


def _first_wins(pairs: list[tuple[str, object]]) -> dict:
    record: dict = {}
    for key, value in pairs:
        record.setdefault(key, value)
    return record


def loads(line: bytes | str) -> object:
    """Strict JSON: NaN and Infinity (which Python's json accepts) are refused; of a repeated key
    the first value counts (as in DuckDB's reader)."""
    return json.loads(line, parse_constant=_refuse_constant, object_pairs_hook=_first_wins)


def dumps(record: Mapping) -> str:
    """One compact line; a non-finite number raises instead of writing ``NaN``."""
    return json.dumps(record, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def parse_line(line: bytes) -> dict | None:
    """The event on one non-empty line, or None when the line is torn, too long or invalid."""
    if len(line) > MAX_LINE_BYTES:
        return None
    try:
        record = loads(line)
    except (ValueError, RecursionError):  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        return None
    return None if problem_with(record) else record


def parse_lines(data: bytes) -> tuple[list[dict], int]:
    """Valid events in ``data`` and how many non-empty lines were skipped."""
    parsed = [parse_line(line) for line in data.splitlines() if line.strip()]
    events = [event for event in parsed if event is not None]
    return events, len(parsed) - len(events)


def stream_lines(path: Path, chunk: int = 1 << 20) -> Iterator[bytes]:
    """Each complete non-empty line (without its newline), read in 1 MB chunks, so a million-line
    log is never held in memory; a last line without its newline is left out."""
    if not path.exists():
        return
    with open(path, "rb") as handle:
        rest = b""
        while block := handle.read(chunk):
            lines = (rest + block).split(b"\n")
            rest = lines.pop()
            yield from (line for line in lines if line.strip())


def stream_events(path: Path, chunk: int = 1 << 20) -> Iterator[dict | None]:
    """Each complete non-empty line's event (None for a torn or invalid one), streamed."""
    return (parse_line(line) for line in stream_lines(path, chunk))


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


def prefix_check(home: Path, offset: int, span: int = 4096) -> str:
    """A digest of the log's first and last ``span`` bytes before ``offset``: what was ingested.
    Other bytes there mean the log was rewritten in place (same inode, as an editor may)."""
    digest = hashlib.blake2b(str(offset).encode(), digest_size=16)
    try:
        with open(log_path(home), "rb") as handle:
            digest.update(handle.read(min(span, offset)))
            handle.seek(max(0, offset - span))
            digest.update(handle.read(offset - max(0, offset - span)))
    except FileNotFoundError:
        pass
    return digest.hexdigest()


# --- rewriting ---------------------------------------------------------------------------------


class Rewritten(NamedTuple):
    kept: int
    dropped: int
    invalid: int  # lines the validator refuses, kept as they were: their age is unknown


def skipped_note(count: int) -> str:
    """How every reader names the lines :func:`problem_with` refuses."""
    return f"{count} invalid line(s) in the feedback log skipped (torn, or not a valid event)"


def rewrite(home: Path, keep: Callable[[dict], bool]) -> Rewritten:
    """Keep only the events for which ``keep`` is true; invalid and torn lines stay as they were.

    The new log is written beside the old one, fsynced, and renamed over it under the lock, so
    a crash at any point leaves one complete log; a failed write (a full disk) removes its
    temporary file and leaves the log as it was.
    """
    kept = dropped = invalid = 0
    with locked(home) as path:
        if not path.exists():
            return Rewritten(0, 0, 0)
        partial = path.with_name(f".{path.name}.partial")
        try:
            with open(partial, "wb") as handle:
                for line in stream_lines(path):
                    event = parse_line(line)
                    if event is None or keep(event):
                        handle.write(line + b"\n")
                        kept += event is not None
                        invalid += event is None
                    else:
                        dropped += 1
                end = complete_range(path).end
                with open(path, "rb") as tail:  # a torn last line (no newline) is not ours to drop
                    tail.seek(end)
                    handle.write(tail.read())
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(partial, path)
        finally:
            partial.unlink(missing_ok=True)
        fsync_directory(path.parent)
    return Rewritten(kept, dropped, invalid)


def fsync_directory(folder: Path) -> None:
    """Make a rename inside ``folder`` durable."""
    directory = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
