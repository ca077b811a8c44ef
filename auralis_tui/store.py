"""DuckDB: connection handling and every SQL statement the app runs.

Connections are short-lived. DuckDB lets one process hold a database file for writing and
locks others out entirely, so every operation opens the file, does its work in one short
transaction and closes it; a process that finds the file busy waits and retries instead of
surfacing a raw "could not set lock" error.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb

DB_NAME = "library.duckdb"
BUSY_TIMEOUT_SECONDS = 30.0

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
"""


class StoreError(RuntimeError):
    """The database file cannot be opened; the message names it and says why."""


class StoreBusy(StoreError):
    """The database stayed locked by another process for longer than the timeout."""


@contextmanager
def connect(home: Path, read_only: bool = False, timeout: float = BUSY_TIMEOUT_SECONDS) -> Iterator:
    """Open ``library.duckdb`` (schema ensured), retrying while another process holds it."""
    path = home / DB_NAME
    home.mkdir(parents=True, exist_ok=True)
    if read_only and not path.exists():
        with connect(home):
            pass
    deadline = time.monotonic() + timeout
    delay = 0.01
    while True:
        try:
            con = duckdb.connect(str(path), read_only=read_only)
            break
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower():
                raise StoreError(f"{path}: {_first_line(exc)}") from None
            if time.monotonic() > deadline:
                raise StoreBusy(f"{path} is busy (another Auralis process is writing); try again") from None
            time.sleep(delay * (1 + random.random()))
            delay = min(delay * 2, 0.2)
    try:
        if not read_only:
            con.execute(_SCHEMA)
        yield con
    finally:
        con.close()


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


# --- read-only SQL for users ------------------------------------------------------------------


class QueryRefused(ValueError):
    """A user query tried to do more than read the documented views."""


@dataclass(frozen=True)
class QueryResult:
    columns: list[str]
    rows: list[tuple]


def run_user_query(home: Path, sql: str) -> QueryResult:
    """Run one read-only SELECT over the library; anything else is refused with a reason.

    Writes are impossible on a read-only connection; reading or writing other files, ATTACH,
    INSTALL and LOAD are disabled by turning off external access and locking the settings.
    """
    with connect(home, read_only=True) as con:
        try:
            statements = con.extract_statements(sql)
        except duckdb.Error as exc:
            raise QueryRefused(f"SQL error: {_first_line(exc)}") from None
        if len(statements) != 1:
            raise QueryRefused("give exactly one statement")
        kind = statements[0].type
        if kind != duckdb.StatementType.SELECT:
            raise QueryRefused(f"only SELECT queries are allowed here, not {kind.name}")
        con.execute("SET enable_external_access = false")
        con.execute("SET lock_configuration = true")
        try:
            cursor = con.execute(sql)
            return QueryResult([d[0] for d in cursor.description], cursor.fetchall())
        except duckdb.PermissionException as exc:
            raise QueryRefused(f"not allowed: {_first_line(exc)}") from None
        except duckdb.Error as exc:
            raise QueryRefused(f"SQL error: {_first_line(exc)}") from None


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0]
