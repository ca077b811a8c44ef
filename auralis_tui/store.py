"""DuckDB: connection handling and every SQL statement the app runs.

Connections are short-lived. DuckDB lets one process hold a database file for writing and
locks others out entirely, so every operation attaches the file, does its work in one short
transaction and detaches it; a process that finds the file busy waits and retries instead of
surfacing a raw "could not set lock" error.
"""

from __future__ import annotations

import logging
import os
import random
import re
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

try:  # DuckDB's compiled core alone: the `duckdb` package's Python layer costs ~4x a bare interpreter start
    import _duckdb as duckdb
except ImportError:  # an older duckdb, without the top-level `_duckdb` module
    import duckdb

from . import feedback

log = logging.getLogger("auralis")
DB_NAME = "library.duckdb"
BUSY_TIMEOUT_SECONDS = 30.0
INGEST_MEMORY = "256MB"  # DuckDB spills to disk beyond this while ingesting a big part of the log
BIG_INGEST_BYTES = 16 << 20

TRACK_COLUMNS = (
    "path", "root", "size", "mtime", "artist", "album_artist", "album", "title", "track_number",
    "disc_number", "year", "genre", "duration", "rate", "channels", "error", "missing", "scanned_at",
)  # fmt: skip

_SCHEMA = """
CREATE TABLE IF NOT EXISTS tracks (
    path VARCHAR PRIMARY KEY,       -- absolute file path
    root VARCHAR,                   -- library folder it was found under
    size BIGINT,                    -- bytes
    mtime DOUBLE,                   -- modification time, seconds since the epoch
    artist VARCHAR, album_artist VARCHAR, album VARCHAR, title VARCHAR,
    track_number INTEGER, disc_number INTEGER, year INTEGER, genre VARCHAR,
    duration DOUBLE,                -- seconds
    rate INTEGER,                   -- Hz
    channels INTEGER,
    error VARCHAR,                  -- why the file could not be read or analysed (NULL = fine)
    missing BOOLEAN DEFAULT false,  -- gone from disk since the last scan
    scanned_at TIMESTAMP,
    fingerprint DOUBLE[],           -- the 25 values in engine.fingerprint.FEATURE_NAMES order
    fingerprint_version INTEGER,
    type VARCHAR,                   -- detected recording type
    confidence DOUBLE,
    analyzed_at TIMESTAMP
);

-- The feedback log as ingested so far (see sync_feedback); patterns are computed once per line.
CREATE TABLE IF NOT EXISTS feedback_events (
    id VARCHAR, timestamp TIMESTAMP, event VARCHAR, track VARCHAR, track_path VARCHAR,
    type VARCHAR, confidence DOUBLE, philosophy VARCHAR, rating INTEGER, comment VARCHAR,
    bass_db DOUBLE, mid_db DOUBLE, treble_db DOUBLE, width DOUBLE, target_lufs DOUBLE, ceiling_dbtp DOUBLE,
    profile VARCHAR, profile_version VARCHAR, personal_version VARCHAR, variant VARCHAR, test_id VARCHAR,
    fix_parameter VARCHAR, fix_delta DOUBLE, refers_to VARCHAR,
    heard VARCHAR,     -- what a rating was given to: 'mastered' or 'original' (feedback.HEARD)
    fingerprint JSON,
    wants VARCHAR[],   -- keyword mentions of the comment: "bass_db+", "treble_db-", …
    phrases VARCHAR[]  -- the same with the words used: "bass_db+|thin"
);
CREATE TABLE IF NOT EXISTS feedback_ingest (log_inode BIGINT, log_offset BIGINT, skipped BIGINT);
ALTER TABLE feedback_ingest ADD COLUMN IF NOT EXISTS log_check VARCHAR;  -- feedback.prefix_check
-- Per track and detected type, the detection confidence as the feedback has updated it (confidence.py).
CREATE TABLE IF NOT EXISTS track_confidence (path VARCHAR, type VARCHAR, confidence DOUBLE, PRIMARY KEY (path, type));
CREATE TABLE IF NOT EXISTS schema_info (version INTEGER);
"""

SCHEMA_VERSION = 7  # 5: every line checked by feedback.VALID_SQL; 6: in-place rewrites noticed; 7: heard

# Documented views for `auralis sql` and the Trends panel (recreated when SCHEMA_VERSION changes).
_VIEWS = """
CREATE OR REPLACE VIEW feedback AS SELECT * FROM feedback_events;
-- an undo without a fix parameter withdraws the rating it refers to ("undo last rating")
CREATE OR REPLACE VIEW ratings AS SELECT * FROM feedback_events WHERE event = 'rating' AND id NOT IN (
    SELECT refers_to FROM feedback_events WHERE event = 'undo' AND fix_parameter IS NULL AND refers_to IS NOT NULL);
-- the ratings given to the mastering (not to the original, heard with the A/B key): all learning uses these
CREATE OR REPLACE VIEW mastered_ratings AS SELECT * FROM ratings WHERE heard = 'mastered';
-- per type, the average rating of the mastered and of the original sound: does the mastering help?
CREATE OR REPLACE VIEW heard_comparison AS
    SELECT coalesce(type, 'unknown') AS type,
           count(*) FILTER (heard = 'mastered') AS mastered_ratings,
           round(avg(rating) FILTER (heard = 'mastered'), 3) AS mastered_average,
           count(*) FILTER (heard = 'original') AS original_ratings,
           round(avg(rating) FILTER (heard = 'original'), 3) AS original_average
    FROM ratings GROUP BY ALL ORDER BY type;
CREATE OR REPLACE VIEW ratings_monthly AS
    SELECT strftime(timestamp, '%Y-%m') AS month, coalesce(type, 'unknown') AS type, count(*) AS ratings,
           round(avg(rating), 3) AS average_rating, round(avg(confidence), 3) AS average_confidence
    FROM mastered_ratings GROUP BY ALL ORDER BY month, type;
CREATE OR REPLACE VIEW rating_distribution AS
    SELECT type, rating, count(*) AS ratings FROM ratings GROUP BY ALL ORDER BY type, rating;
CREATE OR REPLACE VIEW profile_satisfaction AS
    SELECT coalesce(profile, 'unknown') AS profile, coalesce(profile_version, '?') AS profile_version,
           count(*) AS ratings, round(avg(rating), 3) AS average_rating,
           min(timestamp) AS first_rated, max(timestamp) AS last_rated
    FROM mastered_ratings GROUP BY ALL ORDER BY profile, first_rated;
CREATE OR REPLACE VIEW fix_events AS
    SELECT * FROM feedback_events WHERE event IN ('accept', 'reject', 'modify')
        OR event = 'undo' AND fix_parameter IS NOT NULL;
-- Per type and parameter, with 'all' rows per parameter and per type. effectiveness = fixes accepted
-- and not undone ÷ decisions; improvement = the track's next rating after an accepted or modified
-- fix minus the rating the fix answered.
CREATE OR REPLACE MACRO fix_effectiveness_since(start) AS TABLE
    WITH f AS (SELECT * FROM fix_events WHERE timestamp >= start),
    -- only the ratings the fixes touch: the joins stay small however many ratings there are
    touched AS (SELECT id, track_path, timestamp, rating FROM mastered_ratings
                WHERE track_path IN (SELECT track_path FROM f)),
    fixes AS (
        SELECT coalesce(f.type, 'unknown') AS type, f.fix_parameter AS parameter, f.event,
               CASE WHEN f.event IN ('accept', 'modify') THEN next.rating - answered.rating END AS gain
        FROM f
        LEFT JOIN touched answered ON answered.id = f.refers_to
        ASOF LEFT JOIN touched next ON next.track_path = f.track_path AND next.timestamp > f.timestamp
    ), counted AS (
        SELECT coalesce(type, 'all') AS type, coalesce(parameter, 'all') AS parameter,
               count(*) FILTER (event = 'accept') AS accepts, count(*) FILTER (event = 'reject') AS rejects,
               count(*) FILTER (event = 'modify') AS modifies, count(*) FILTER (event = 'undo') AS undos,
               avg(gain) AS improvement, count(gain) AS improvement_samples
        FROM fixes GROUP BY GROUPING SETS ((type, parameter), (parameter), (type))
    )
    SELECT type, parameter, accepts, rejects, modifies, undos, accepts + rejects + modifies AS decisions,
           round(accepts / nullif(accepts + rejects + modifies, 0), 3) AS accept_rate,
           round(undos / nullif(accepts, 0), 3) AS undo_rate,
           round(greatest(accepts - undos, 0) / nullif(accepts + rejects + modifies, 0), 3) AS effectiveness,
           round(improvement, 3) AS improvement, improvement_samples
    FROM counted ORDER BY type = 'all' DESC, type, parameter = 'all' DESC, parameter;
CREATE OR REPLACE VIEW fix_effectiveness AS SELECT * FROM fix_effectiveness_since(TIMESTAMP '0001-01-01');
CREATE OR REPLACE VIEW track_ratings AS
    SELECT track_path AS path, count(*) AS ratings, round(avg(rating), 3) AS average_rating,
           arg_max(rating, timestamp) AS last_rating, max(timestamp) AS last_rated
    FROM ratings GROUP BY track_path;
"""


#: What `auralis sql` and the SQL panel offer: the tracks table, then every view in the order defined.
VIEW_NAMES = ("tracks", *re.findall(r"CREATE OR REPLACE VIEW (\w+)", _VIEWS))


class StoreError(RuntimeError):
    """The database file cannot be opened; the message names it and says why."""


class StoreBusy(StoreError):
    """The database stayed locked by another process for longer than the timeout."""


_SAID: set[Path] = set()


def deferred(home: Path, exc: StoreError) -> None:
    """Say (once per process and home) that the database could not be used and its work waits for
    the next ingest; the feedback itself is already in the log."""
    if home not in _SAID:
        _SAID.add(home)
        log.warning(f"{exc} — the feedback log has everything; the database catches up at the next ingest")


class StoreUnreadable(StoreError):
    """The database file is damaged or not a database: a cache to set aside and rebuild."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


# One in-memory DuckDB instance per process; each operation attaches ``library.duckdb`` to it and
# detaches it afterwards (1–3 ms, where creating an instance costs ~12 ms and its close ~6 ms).
# Threads take turns: the file can be attached once at a time.
_IN_PROCESS = threading.RLock()
_INSTANCE: list = []
_ALIAS = "auralis"
_OPEN = threading.local()  # this thread's attached connection per home: nested calls reuse it


@dataclass(frozen=True)
class _Attached:
    con: object
    read_only: bool


@contextmanager
def connect(home: Path, read_only: bool = False, timeout: float = BUSY_TIMEOUT_SECONDS) -> Iterator:
    """``library.duckdb`` attached (schema ensured), retrying while another process holds it.

    A call made while this thread already has the file open reuses that connection."""
    attached = _OPEN.__dict__.setdefault("by_home", {})
    key = os.fspath(home)  # a str: removing it runs no Python code, where a Ctrl-C could land first
    outer = attached.get(key)
    if outer is not None:
        if not read_only and outer.read_only:
            raise RuntimeError("a write inside a read-only store block: open the outer block read-write")
        yield outer.con
        return
    with _IN_PROCESS, _attach(home, read_only, timeout) as con:
        attached[key] = _Attached(con, read_only)
        try:
            yield con
        finally:
            del attached[key]


@contextmanager
def session(home: Path, timeout: float = BUSY_TIMEOUT_SECONDS) -> Iterator[None]:
    """One read-write connection for every store call in this thread until the block ends: a
    burst of calls (processing one feedback event) attaches the file once; other processes wait
    for the block to end."""
    with connect(home, timeout=timeout):
        yield


def _instance():
    if not _INSTANCE:
        _INSTANCE.append(duckdb.connect(":memory:"))
    return _INSTANCE[0]


@contextmanager
def _attach(home: Path, read_only: bool, timeout: float) -> Iterator:
    path = home / DB_NAME
    home.mkdir(parents=True, exist_ok=True)
    if read_only and not path.exists():
        with connect(home):
            pass
    literal = str(path).replace("'", "''")
    mode = " (READ_ONLY)" if read_only else ""
    con = _instance().cursor()
    try:
        if not _OPEN.by_home:  # no block is open in the process (it holds _IN_PROCESS), yet a Ctrl-C
            con.execute(f"DETACH DATABASE IF EXISTS {_ALIAS}")  # that ended the last one early can leave it attached
        try:
            _retry_while_locked(path, timeout, lambda: con.execute(f"ATTACH '{literal}' AS {_ALIAS}{mode}"))
        except StoreUnreadable as exc:  # a cache that cannot be read is rebuilt, never a dead end
            set_aside(path, exc.reason)
            _retry_while_locked(path, timeout, lambda: con.execute(f"ATTACH '{literal}' AS {_ALIAS}"))
        try:
            con.execute(f"USE {_ALIAS}")
            if not read_only:
                _ensure_schema(con)
            yield con
        except duckdb.Error as exc:
            if isinstance(exc, duckdb.IOException | duckdb.OutOfMemoryException) and not _is_corruption(exc):
                raise StoreError(f"{path.name}: {_first_line(exc)}") from None  # e.g. a full disk
            if not _is_corruption(exc):
                raise
            corrupt = exc
        finally:
            _detach(con)
    except RuntimeError as exc:
        if _interrupted(exc):
            raise KeyboardInterrupt from None
        raise
    finally:
        con.close()
    if "corrupt" in locals():  # found while reading: set aside now that it is detached
        set_aside(path, _first_line(corrupt))
        raise StoreError(f"{path.name} was damaged ({_first_line(corrupt)}); it is set aside and rebuilt: run it again")


_CORRUPTION = ("corrupt database", "checksum", "not a valid duckdb", "serialization error", "replaying wal",
               "storage version")  # fmt: skip


def _is_corruption(exc: Exception) -> bool:
    return isinstance(exc, duckdb.Error) and any(word in str(exc).lower() for word in _CORRUPTION)


def set_aside(path: Path, reason: str) -> Path:
    """Move an unreadable database (and its WAL) aside and say so: the log and a rescan rebuild it."""
    stamp = time.strftime("%Y%m%dT%H%M%S")
    aside = path.with_name(f"{path.name}.unreadable-{stamp}")
    path.replace(aside)
    wal = path.with_name(path.name + ".wal")
    if wal.exists():
        wal.replace(aside.with_name(aside.name + ".wal"))
    log.warning(
        f"{path} could not be read ({reason}); moved to {aside.name} and rebuilt from the feedback log "
        "(run `auralis scan` to index the library again)"
    )
    return aside


def _interrupted(exc: Exception) -> bool:
    """DuckDB turns a Ctrl-C that lands while it runs a statement (ATTACH and DETACH included)
    into this error; it is the user's interruption, not a database fault."""
    return type(exc) is RuntimeError and "interrupted" in str(exc).lower()


def _detach(con) -> None:
    """Detach the file (which checkpoints it), first ending a transaction an error left open."""
    try:
        con.execute("USE memory")
    except duckdb.Error:
        con.execute("ROLLBACK")
        con.execute("USE memory")
    con.execute(f"DETACH {_ALIAS}")


def _retry_while_locked(path: Path, timeout: float, action):
    """``action()``, retried with backoff while another process holds the file's lock."""
    deadline = time.monotonic() + timeout
    delay = 0.01
    while True:
        try:
            return action()
        except duckdb.Error as exc:
            if _is_corruption(exc):
                raise StoreUnreadable(f"{path}: {_first_line(exc)}", _first_line(exc)) from None
            if not isinstance(exc, duckdb.IOException) or "lock" not in str(exc).lower():
                raise StoreError(f"{path}: {_first_line(exc)}") from None
            if time.monotonic() > deadline:
                raise StoreBusy(f"{path} is busy (another Auralis process is writing); try again") from None
            time.sleep(delay * (1 + random.random()))
            delay = min(delay * 2, 0.2)


def _ensure_schema(con) -> None:
    """Create or upgrade tables and views; a current database costs one small query."""
    try:
        current = con.execute("SELECT max(version) FROM schema_info").fetchone()[0]
    except duckdb.CatalogException:  # a new database file
        current = None
    if current != SCHEMA_VERSION:
        con.execute("DROP TABLE IF EXISTS feedback_events")  # derived from the log: its columns may have changed
        con.execute(_SCHEMA)
        con.execute(_VIEWS)
        con.execute("DELETE FROM feedback_ingest")  # derived tables may be new: ingest the log again
        con.execute("DELETE FROM schema_info")
        con.execute("INSERT INTO schema_info VALUES (?)", [SCHEMA_VERSION])


@dataclass(frozen=True)
class KnownFile:
    size: int
    mtime: float
    fingerprint_version: int | None
    error: str | None
    missing: bool


def known_files(home: Path, root: str) -> dict[str, KnownFile]:
    """Every indexed file under ``root`` with what decides whether it must be read again."""
    with connect(home) as con:
        rows = con.execute(
            "SELECT path, size, mtime, fingerprint_version, error, missing FROM tracks WHERE root = ?", [root]
        ).fetchall()
    return {row[0]: KnownFile(*row[1:]) for row in rows}


def _columns(rows: Sequence[dict], names: Sequence[str]) -> list[list]:
    return [[row.get(name) for row in rows] for name in names]


def upsert_tracks(home: Path, rows: Sequence[dict]) -> None:
    """Insert or replace tag rows (a changed file loses its old analysis)."""
    if not rows:
        return
    names = [n for n in TRACK_COLUMNS if n != "scanned_at"]
    unnest = ", ".join("unnest(?)" for _ in names)
    with connect(home) as con:
        con.execute(
            # OR REPLACE only updates the listed columns: clear the old analysis explicitly
            f"INSERT OR REPLACE INTO tracks ({', '.join(names)}, scanned_at, "
            "fingerprint, fingerprint_version, type, confidence, analyzed_at) "
            f"SELECT {unnest}, now()::TIMESTAMP, NULL, NULL, NULL, NULL, NULL",
            _columns(rows, names),
        )


def set_missing(home: Path, paths: Sequence[str], missing: bool) -> None:
    if paths:
        with connect(home) as con:
            con.execute("UPDATE tracks SET missing = ? WHERE path IN (SELECT unnest(?))", [missing, list(paths)])


def pending_analysis(home: Path, fingerprint_version: int) -> list[str]:
    """Readable, present files whose analysis is absent or from another fingerprint version."""
    with connect(home) as con:
        rows = con.execute(
            "SELECT path FROM tracks WHERE NOT missing AND error IS NULL "
            "AND (fingerprint_version IS NULL OR fingerprint_version <> ?) ORDER BY path",
            [fingerprint_version],
        ).fetchall()
    return [row[0] for row in rows]


def save_analyses(home: Path, results: Sequence[dict]) -> None:
    """Store fingerprints + detections (or the error that stopped the analysis)."""
    if not results:
        return
    names = ["path", "fingerprint", "fingerprint_version", "type", "confidence", "error"]
    with connect(home) as con:
        con.execute(
            "UPDATE tracks SET fingerprint = r.fingerprint, fingerprint_version = r.fingerprint_version, "
            "type = r.type, confidence = r.confidence, error = r.error, analyzed_at = now()::TIMESTAMP "
            f"FROM (SELECT {', '.join(f'unnest(?) AS {n}' for n in names)}) r WHERE tracks.path = r.path",
            _columns(results, names),
        )


def cached_fingerprint(home: Path, path: str, fingerprint_version: int) -> list[float] | None:
    """The stored fingerprint of ``path`` when it is current and the file is unchanged on disk."""
    if not (home / DB_NAME).exists():
        return None
    try:
        status = os.stat(path)
    except OSError:
        return None
    with connect(home, read_only=True) as con:
        row = con.execute(
            "SELECT fingerprint FROM tracks WHERE path = ? AND size = ? AND mtime = ? AND fingerprint_version = ?",
            [path, status.st_size, status.st_mtime, fingerprint_version],
        ).fetchone()
    return row[0] if row else None


def tracks_under(home: Path, root: str) -> list[dict]:
    """Present tracks under ``root`` as dictionaries, ordered by path."""
    with connect(home, read_only=True) as con:
        cursor = con.execute(
            "SELECT path, artist, album, title, rate, channels, duration, type, confidence, error "
            "FROM tracks WHERE root = ? AND NOT missing ORDER BY path",
            [root],
        )
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def library_summary(home: Path) -> dict:
    with connect(home, read_only=True) as con:
        total, missing, errors, analysed = con.execute(
            "SELECT count(*), count(*) FILTER (missing), count(*) FILTER (error IS NOT NULL AND NOT missing), "
            "count(*) FILTER (fingerprint IS NOT NULL AND NOT missing) FROM tracks"
        ).fetchone()
        by_type = dict(
            con.execute(
                "SELECT type, count(*) FROM tracks WHERE type IS NOT NULL AND NOT missing GROUP BY type ORDER BY 2 DESC"
            ).fetchall()
        )
    return {"tracks": total, "missing": missing, "errors": errors, "analysed": analysed, "by_type": by_type}


# --- the feedback log, ingested incrementally -------------------------------------------------

def _text(expr: str) -> str:
    return f"{expr}->>'$'"


def _double(expr: str) -> str:
    return f"try_cast({expr} AS DOUBLE)"


# The raw JSON columns of a valid line (feedback.VALID_SQL) as the feedback_events row.
_INGEST_COLUMNS = ", ".join(
    [
        _text("id"), feedback.SQL_TIMESTAMP, _text("event"), _text("track"), _text("track_path"),
        _text("detected_type"), _double("confidence"), _text("philosophy"), "try_cast(rating AS INTEGER)",
        _text("comment"),
        *(_double(f"parameters_applied->'{key}'") for key in feedback.APPLIED_KEYS),
        _text("profile->'name'"), _text("profile->'version'"), _text("personal_version"), _text("variant"),
        _text("test_id"), _text("fix->'parameter'"), _double("fix->'delta'"), _text("refers_to"),
        f"coalesce({_text('heard')}, 'mastered')", "fingerprint",
        "NULL", "NULL",
    ]
)  # fmt: skip


def sync_feedback(home: Path) -> int:
    """Bring ``feedback_events`` up to date with the log; returns how many lines were skipped.

    Only bytes after the last ingested offset are read (DuckDB parses them); a rewritten log (new
    inode, shorter than the offset, or other bytes at its start or just before the offset) is
    ingested again from the start. Keyword mentions are
    computed once per distinct new comment.
    """
    with connect(home) as con:
        stored = con.execute("SELECT log_inode, log_offset, skipped, log_check FROM feedback_ingest").fetchone()
        inode, offset, skipped, check = stored or (None, 0, 0, None)
        now_inode, size = feedback.log_identity(home) or (None, 0)
        if now_inode != inode or size < offset or feedback.prefix_check(home, offset) != check:  # rewritten
            con.execute("DELETE FROM feedback_events")
            con.execute("DELETE FROM track_confidence")
            offset, skipped = 0, 0
        if size > offset:
            offset, skipped = _ingest_from(home, con, offset, skipped)
        state = (now_inode, offset, skipped, feedback.prefix_check(home, offset))
        if state != stored:  # a log read before writes nothing (a write costs a checkpoint at detach)
            con.execute("DELETE FROM feedback_ingest")
            con.execute("INSERT INTO feedback_ingest VALUES (?, ?, ?, ?)", list(state))
    return skipped


def _ingest_from(home: Path, con, offset: int, skipped: int) -> tuple[int, int]:
    """Insert the complete lines after ``offset``; returns the new offset and skipped count.

    DuckDB parses the bytes itself (a copy of the new range, or the log when it is read whole),
    within a memory limit, so a first ingest of a million lines stays small.
    """
    log = feedback.log_path(home)
    with feedback.locked(home):  # the log cannot grow while DuckDB reads it
        end, lines, oversized = feedback.complete_range(log, offset)
        if end == offset:
            return offset, skipped
        source = log
        if offset or end != log.stat().st_size or oversized:
            source = log.with_name(f".ingest-{os.getpid()}.jsonl")
            try:
                _copy_lines(log, source, offset, end, oversized)
            except OSError:
                source.unlink(missing_ok=True)
                raise
        big = end - offset > BIG_INGEST_BYTES
        try:
            if big:  # bounded memory; the process's instance outlives this ingest, so reset after
                con.execute(f"SET memory_limit = '{INGEST_MEMORY}'")
                con.execute("SET preserve_insertion_order = false")
            con.execute("BEGIN")
            (added,) = con.execute(
                f"INSERT INTO feedback_events SELECT {_INGEST_COLUMNS} FROM read_json(?, format = "
                f"'newline_delimited', columns = ?, ignore_errors = true) WHERE {feedback.VALID_SQL}",
                [str(source), feedback.DUCKDB_COLUMNS],
            ).fetchone()
            _fold_confidence(con)
            _index_mentions(con)
            con.execute("COMMIT")
        except duckdb.Error:
            con.execute("ROLLBACK")
            raise
        finally:
            if big:
                con.execute("RESET memory_limit")
                con.execute("RESET preserve_insertion_order")
            if source != log:
                source.unlink(missing_ok=True)
    return end, skipped + lines - added  # oversized lines are among ``lines``, never added


def _copy_lines(log: Path, target: Path, start: int, end: int, leave_out: list[tuple[int, int]]) -> None:
    """Copy the log's bytes [start, end) to ``target`` without the ``leave_out`` spans (lines too
    long to be events: counted as skipped, never handed to DuckDB)."""
    with open(log, "rb") as reader, open(target, "wb") as writer:
        for begin, stop in zip([start] + [b for _, b in leave_out], [a for a, _ in leave_out] + [end], strict=True):
            reader.seek(begin)
            count = stop - begin
            while count > 0:
                block = reader.read(min(1 << 20, count))
                if not block:
                    break
                writer.write(block)
                count -= len(block)


def _fold_confidence(con, batch: int = 50_000) -> None:
    """Update ``track_confidence`` with the new rows (not yet indexed), in time order; a track's
    first event starts it at the detection confidence recorded then. Only those first events and
    the verdicts (``confidence.VERDICTS_SQL``) are read, in batches."""
    from . import confidence

    con.execute(
        "SELECT n.track_path, n.type, n.event, n.rating, n.fix_parameter, n.heard, "
        "coalesce(c.confidence, n.confidence) "
        "FROM (SELECT * FROM feedback_events WHERE wants IS NULL AND track_path IS NOT NULL AND type IS NOT NULL "
        "AND confidence IS NOT NULL) n LEFT JOIN track_confidence c ON c.path = n.track_path AND c.type = n.type "
        "QUALIFY row_number() OVER (PARTITION BY n.track_path, n.type ORDER BY n.timestamp) = 1 "
        f"OR {confidence.VERDICTS_SQL} ORDER BY n.timestamp"
    )
    values: dict[tuple[str, str], float] = {}
    while rows := con.fetchmany(batch):
        for path, kind, event, rating, fix, heard, start in rows:  # start: known, else recorded with the event
            values[path, kind] = confidence.updated(values.get((path, kind), start), event, rating, fix, heard)
    if not values:
        return
    keys = list(values)
    con.execute(
        "INSERT OR REPLACE INTO track_confidence SELECT unnest(?), unnest(?), unnest(?)",
        [[k[0] for k in keys], [k[1] for k in keys], [values[k] for k in keys]],
    )


def _index_mentions(con) -> None:
    """Fill ``wants``/``phrases`` for new rows, analysing each distinct comment once."""
    comments = [
        row[0]
        for row in con.execute(
            "SELECT DISTINCT comment FROM feedback_events WHERE wants IS NULL AND trim(coalesce(comment, '')) <> ''"
        ).fetchall()
    ]
    if comments:
        from . import patterns  # compiles the vocabulary: only when there are new comments to read

        wants, phrases = [], []
        for comment in comments:
            found = patterns.distinct_mentions(comment)
            wants.append(list(dict.fromkeys(patterns.key_label(m.parameter, m.direction) for m in found)))
            phrases.append([f"{patterns.key_label(m.parameter, m.direction)}|{m.phrase}" for m in found])
        con.execute(
            "UPDATE feedback_events SET wants = m.wants, phrases = m.phrases "
            "FROM (SELECT unnest(?) AS comment, unnest(?::VARCHAR[][]) AS wants, unnest(?::VARCHAR[][]) AS phrases) m "
            "WHERE feedback_events.wants IS NULL AND feedback_events.comment = m.comment",
            [comments, wants, phrases],
        )
    con.execute("UPDATE feedback_events SET wants = [], phrases = [] WHERE wants IS NULL")


def _since_clause(since: datetime | None) -> tuple[str, list]:
    return ("AND timestamp >= ?", [since]) if since else ("", [])


def rating_tallies(
    home: Path,
    since: datetime | None = None,
    kind: str | None = None,
    limit: int = 20,
    heard_under: tuple[str, str | None] | None = None,
) -> dict:
    """Per detected type, the counts the pattern rules need (id lists: the ``limit`` most recent).

    ``heard_under`` = (profile version, personal-layer version) keeps only ratings given to that mastering."""
    where, args = _since_clause(since)
    if kind:
        where, args = where + " AND type = ?", [*args, kind]
    if heard_under:
        where += " AND profile_version = ? AND personal_version IS NOT DISTINCT FROM ?"
        args = [*args, *heard_under]
    from . import patterns

    low, unsure = patterns.LOW_RATING, patterns.LOW_CONFIDENCE
    with connect(home, read_only=True) as con:
        base = f"FROM mastered_ratings WHERE true {where}"
        summary = con.execute(
            f"SELECT coalesce(type, 'unknown'), count(*), count(*) FILTER (trim(coalesce(comment, '')) <> ''), "
            # a type none of whose ratings recorded a confidence (sparse lines): nothing known, 0
            f"avg(rating), coalesce(avg(confidence), 0.0), count(*) FILTER (rating <= {low}), "
            f"max_by(id, timestamp, {limit}) FILTER (rating <= {low}), count(*) FILTER (confidence < {unsure}), "
            f"max_by(id, timestamp, {limit}) FILTER (confidence < {unsure}) {base} GROUP BY 1 ORDER BY 1",
            args,
        ).fetchall()
        histogram = con.execute(f"SELECT coalesce(type, 'unknown'), rating, count(*) {base} GROUP BY ALL", args)
        histogram = histogram.fetchall()
        wants = con.execute(
            f"SELECT type, w, count(*), max_by(id, timestamp, {limit}) FROM "
            f"(SELECT coalesce(type, 'unknown') AS type, id, timestamp, unnest(wants) AS w {base}) GROUP BY ALL",
            args,
        ).fetchall()
        phrases = con.execute(
            f"SELECT type, p, count(*) FROM (SELECT coalesce(type, 'unknown') AS type, unnest(phrases) AS p {base}) "
            "GROUP BY ALL",
            args,
        ).fetchall()
    return {"summary": summary, "histogram": histogram, "wants": wants, "phrases": phrases}


def monthly_ratings(home: Path, since: datetime | None = None, kind: str | None = None) -> list[dict]:
    """Rows of ``ratings_monthly``: whole calendar months from the one holding ``since``."""
    where, args = "", []
    if since:
        where, args = " AND month >= ?", [since.strftime("%Y-%m")]
    if kind:
        where, args = where + " AND type = ?", [*args, kind]
    with connect(home, read_only=True) as con:
        cursor = con.execute(f"SELECT * FROM ratings_monthly WHERE true {where}", args)
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def library_listing(home: Path) -> list[dict]:
    """The library as it is browsed: the feedback log caught up first (for the ratings shown),
    then ``library_rows`` of the current fingerprint version, in library order."""
    from engine.features import FINGERPRINT_VERSION

    from .naturalsort import library_order

    sync_feedback(home)
    return library_order(library_rows(home, FINGERPRINT_VERSION))


def library_rows(home: Path, fingerprint_version: int) -> list[dict]:
    """Present tracks with their analysis, latest rating and (when current) fingerprint, for browsing."""
    with connect(home, read_only=True) as con:
        cursor = con.execute(
            "SELECT t.path, t.title, t.artist, t.album, t.disc_number, t.track_number, t.duration, t.type, "
            "coalesce(c.confidence, t.confidence) AS confidence, c.confidence AS learned_confidence, t.error, "
            "r.last_rating, "
            "CASE WHEN t.fingerprint_version = ? THEN t.fingerprint END AS fingerprint "
            "FROM tracks t LEFT JOIN track_ratings r ON r.path = t.path "
            "LEFT JOIN track_confidence c ON c.path = t.path AND c.type = t.type WHERE NOT t.missing "
            "ORDER BY t.artist, t.album, t.disc_number, t.track_number, t.path",
            [fingerprint_version],
        )
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def catalog_rows(home: Path) -> list[dict]:
    """Present tracks with the tags MPD clients browse by, and their latest rating."""
    with connect(home, read_only=True) as con:
        cursor = con.execute(
            "SELECT t.path, t.root, t.title, t.artist, t.album, t.album_artist, t.genre, t.year, t.track_number, "
            "t.disc_number, t.duration, r.last_rating FROM tracks t LEFT JOIN track_ratings r ON r.path = t.path "
            "WHERE NOT t.missing"
        )
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def trend_rows(home: Path) -> tuple[list[tuple], list[tuple]]:
    """(rating, count) overall, and (profile, version, ratings, average) per profile version."""
    with connect(home, read_only=True) as con:
        distribution = con.execute("SELECT rating, count(*) FROM ratings GROUP BY 1 ORDER BY 1").fetchall()
        versions = con.execute(
            "SELECT profile, profile_version, ratings, average_rating FROM profile_satisfaction"
        ).fetchall()
    return distribution, versions


def heard_comparison(home: Path) -> list[dict]:
    """Rows of ``heard_comparison``: per type, mastered vs original average rating."""
    with connect(home, read_only=True) as con:
        cursor = con.execute("SELECT * FROM heard_comparison")
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def test_ratings(home: Path, test_id: str) -> dict[str, list[int]]:
    """Ratings given during an A/B test, per variant."""
    with connect(home, read_only=True) as con:
        rows = con.execute(
            "SELECT variant, list(rating ORDER BY timestamp) FROM mastered_ratings WHERE test_id = ? GROUP BY variant",
            [test_id],
        ).fetchall()
    return {variant: ratings for variant, ratings in rows}


def confidence_by_type(home: Path) -> list[tuple[str, int, float, list[float]]]:
    """Per type: tracks with feedback, their average updated confidence, and every value (for
    counting those under a threshold)."""
    with connect(home, read_only=True) as con:
        return con.execute(
            "SELECT type, count(*), avg(confidence), list(confidence) FROM track_confidence GROUP BY type ORDER BY type"
        ).fetchall()


def learned_confidence(home: Path, path: str) -> dict[str, float]:
    """The feedback-updated detection confidence of the track at ``path``, per type."""
    with connect(home, read_only=True) as con:
        return dict(con.execute("SELECT type, confidence FROM track_confidence WHERE path = ?", [path]).fetchall())


def latest_rating_id(home: Path, path: str) -> str | None:
    """The id of the newest (not withdrawn) rating of the track at ``path``."""
    with connect(home, read_only=True) as con:
        row = con.execute("SELECT max_by(id, timestamp) FROM ratings WHERE track_path = ?", [path]).fetchone()
    return row[0]


def version_ratings(home: Path) -> dict[tuple[str, str], list[int]]:
    """Ratings per (profile, version), in one query."""
    with connect(home, read_only=True) as con:
        rows = con.execute(
            "SELECT profile, profile_version, list(rating) FROM mastered_ratings GROUP BY profile, profile_version"
        ).fetchall()
    return {(profile, version): ratings for profile, version, ratings in rows}


def fix_effectiveness(home: Path, since: datetime | None = None) -> list[dict]:
    """Rows of the ``fix_effectiveness`` view, over the fix events since ``since``."""
    with connect(home, read_only=True) as con:
        cursor = con.execute("SELECT * FROM fix_effectiveness_since(?)", [since or datetime(1, 1, 1)])
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


# --- read-only SQL for users ------------------------------------------------------------------


class QueryRefused(ValueError):
    """A user query tried to do more than read the documented views."""


@dataclass(frozen=True)
class QueryResult:
    columns: list[str]
    rows: list[tuple]
    truncated: bool = False  # more rows than ``USER_ROW_CAP``: only the first are here


USER_ROW_CAP = 10_000  # rows a user query returns
USER_MEMORY = "256MB"  # DuckDB's memory for a user query (it spills nothing: external access is off)
USER_SECONDS = 10.0  # a user query running longer is stopped


def run_user_query(home: Path, sql: str, seconds: float = USER_SECONDS) -> QueryResult:
    """Run one read-only SELECT over the library and the whole feedback log (ingested first when it
    has new lines); anything else is refused with a reason.

    Writes are impossible on a read-only connection; reading or writing other files, ATTACH,
    INSTALL and LOAD are disabled by turning off external access and locking the settings. A
    runaway query is bounded: at most ``USER_ROW_CAP`` rows (``truncated`` says when more were
    there), ``USER_MEMORY`` of DuckDB memory, and ``seconds`` of time. Ctrl-C stops it
    (``KeyboardInterrupt``).
    """
    with _IN_PROCESS, _isolated(home) as con:
        try:
            statements = con.extract_statements(sql)
        except duckdb.Error as exc:
            raise QueryRefused(f"SQL error: {_first_line(exc)}") from None
        if len(statements) != 1:
            raise QueryRefused("give exactly one statement")
        kind = statements[0].type
        if kind != duckdb.StatementType.SELECT:
            raise QueryRefused(f"only SELECT queries are allowed here, not {kind.name}")
        for setting in (f"memory_limit = '{USER_MEMORY}'", "threads = 2", "enable_progress_bar = false",
                        "enable_external_access = false", "lock_configuration = true"):  # fmt: skip
            con.execute(f"SET {setting}")
        try:
            columns, rows = _bounded(con, sql, seconds)
        except duckdb.PermissionException as exc:
            raise QueryRefused(f"not allowed: {_first_line(exc)}") from None
        except duckdb.OutOfMemoryException:
            raise QueryRefused(f"stopped: the query needs more than {USER_MEMORY} of memory") from None
        except duckdb.Error as exc:
            raise QueryRefused(f"SQL error: {_first_line(exc)}") from None
        return QueryResult(columns, rows[:USER_ROW_CAP], len(rows) > USER_ROW_CAP)


def _bounded(con, sql: str, seconds: float) -> tuple[list[str], list[tuple]]:
    """Run ``sql`` in a worker thread while this one waits: the wait ends at the time limit or on
    Ctrl-C (a signal reaches Python here, never inside DuckDB), and either interrupts the query."""
    outcome: dict = {}
    done = threading.Event()  # not Thread.join: an interrupted join may later return too early

    def work() -> None:
        try:
            cursor = con.execute(sql)
            outcome["result"] = ([d[0] for d in cursor.description], cursor.fetchmany(USER_ROW_CAP + 1))
        except duckdb.Error as exc:
            outcome["error"] = exc
        finally:
            done.set()

    threading.Thread(target=work, name="user-query", daemon=True).start()
    try:
        finished = done.wait(seconds)
    except KeyboardInterrupt:
        con.interrupt()
        done.wait()
        raise
    if not finished:
        con.interrupt()
        done.wait()
        raise QueryRefused(f"stopped after {seconds:g} s (the time limit for a query)")
    if "error" in outcome:
        raise outcome["error"]
    return outcome["result"]


@contextmanager
def _isolated(home: Path) -> Iterator:
    """A read-only instance of its own, for settings that must not outlive one query, on a database
    holding the whole feedback log: when it is behind, the log is ingested first (a second instance)."""
    if os.fspath(home) in getattr(_OPEN, "by_home", {}):
        raise RuntimeError("user queries run outside other store blocks")
    path = home / DB_NAME
    con = _open_read_only(path) if path.exists() else None
    if con is None or not _holds_the_log(con, home):
        if con is not None:
            con.close()
        sync_feedback(home)
        con = _open_read_only(path)
    try:
        yield con
    finally:
        con.close()


def _open_read_only(path: Path):
    return _retry_while_locked(path, BUSY_TIMEOUT_SECONDS, lambda: duckdb.connect(str(path), read_only=True))


def _holds_the_log(con, home: Path) -> bool:
    """Whether the database behind ``con`` has the current schema and every byte of the log (what
    ``sync_feedback`` would find nothing to do for)."""
    try:
        (version,) = con.execute("SELECT max(version) FROM schema_info").fetchone()
        stored = con.execute("SELECT log_inode, log_offset, log_check FROM feedback_ingest").fetchone()
    except duckdb.Error:
        return False
    inode, size = feedback.log_identity(home) or (None, 0)
    return version == SCHEMA_VERSION and stored == (inode, size, feedback.prefix_check(home, size))


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0]
