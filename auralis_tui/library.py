"""The library index: walk folders, read tags, analyse audio in a process pool, store in DuckDB.

Incremental: a file whose path, size and mtime are unchanged is not read again; files that
vanished are marked missing; a new ``FINGERPRINT_VERSION`` re-analyses everything. Every file
that cannot be read is stored with its reason, and the scan goes on. Work is written in short
batches, so Ctrl-C (or a crash) keeps everything finished so far.
"""

from __future__ import annotations

import multiprocessing
import os
import re
import signal
import time
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path

import mutagen

from engine import audio
from engine.features import FINGERPRINT_VERSION

from . import personal, store
from .analysis import analyze_file
from .progress import Progress
from .tuning import keep_freed_memory, one_blas_thread

AUDIO_EXTENSIONS = frozenset({".flac", ".wav", ".aiff", ".aif", ".ogg", ".oga", ".opus", ".mp3"})
BATCH_SECONDS = 1.0  # results are written at least this often
_LEADING_NUMBER = re.compile(r"^\s*(\d{1,3})[\s._-]+")


@dataclass
class ScanSummary:
    root: str
    seen: int = 0
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    missing: int = 0
    analysed: int = 0
    errors: list[tuple[str, str]] = field(default_factory=list)
    interrupted: bool = False
    seconds: float = 0.0


def walk_audio_files(root: Path) -> Iterator[os.DirEntry]:
    """Audio files under ``root``: hidden entries skipped, symlinked folders followed once."""
    seen_dirs: set[tuple[int, int]] = set()
    stack = [root]
    while stack:
        folder = stack.pop()
        try:
            status = folder.stat()
        except OSError:
            continue
        key = (status.st_dev, status.st_ino)
        if key in seen_dirs:  # a symlink loop or a second link to the same folder
            continue
        seen_dirs.add(key)
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError:
            continue
        for entry in entries:
            if entry.name.startswith("."):
                continue
            try:
                if entry.is_dir():
                    stack.append(Path(entry.path))
                elif entry.is_file() and os.path.splitext(entry.name)[1].lower() in AUDIO_EXTENSIONS:
                    yield entry
            except OSError:
                continue


def _first(tags, *keys: str) -> str | None:
    for key in keys:
        value = tags.get(key) if tags else None
        if value:
            text = str(value[0] if isinstance(value, list) else value).strip()
            if text:
                return text
    return None


def _number(text: str | None) -> int | None:
    match = re.match(r"\s*(\d+)", text or "")
    return int(match.group(1)) if match else None


def read_tags(path: str, root: str) -> dict:
    """Tags and stream facts of one file; names from folders stand in for missing tags.

    Raises ``audio.AudioError`` when libsndfile cannot read the file's header.
    """
    info = audio.info(path)
    try:
        tagged = mutagen.File(path, easy=True)
        tags = tagged.tags if tagged is not None else None
    except Exception:  # mutagen raises many kinds on odd files; tags are optional
        tags = None
    file_path = Path(path)
    stem = file_path.stem
    folder_album = file_path.parent.name if str(file_path.parent) != root else None
    folder_artist = file_path.parent.parent.name if folder_album and str(file_path.parent.parent) != root else None
    number = _LEADING_NUMBER.match(stem)
    year = _number(_first(tags, "date", "originaldate", "year"))
    return {
        "artist": _first(tags, "artist", "albumartist") or folder_artist or "Unknown artist",
        "album_artist": _first(tags, "albumartist", "artist") or folder_artist,
        "album": _first(tags, "album") or folder_album or "Unknown album",
        "title": _first(tags, "title") or (stem[number.end() :] if number else stem),
        "track_number": _number(_first(tags, "tracknumber")) or (int(number.group(1)) if number else None),
        "disc_number": _number(_first(tags, "discnumber")),
        "year": year if year and 1000 <= year <= 9999 else None,
        "genre": _first(tags, "genre"),
        "duration": info.duration,
        "rate": info.rate,
        "channels": info.channels,
    }


def _tag_row(entry_path: str, root: str, size: int, mtime: float) -> dict:
    row = {"path": entry_path, "root": root, "size": size, "mtime": mtime, "missing": False, "error": None}
    try:
        row |= read_tags(entry_path, root)
    except audio.AudioError as exc:
        row |= {"error": exc.reason, "artist": None, "title": Path(entry_path).name}
    return row


_WORKER_PROFILES: dict = {}  # the user's effective profiles, given to each worker as it starts


def _start_worker(profiles: dict) -> None:
    """Workers leave Ctrl-C to the parent, which stops the pool and keeps finished work, keep
    freed memory for the next file, and classify with the profiles the parent gave them."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    keep_freed_memory()
    _WORKER_PROFILES.update(profiles)


def analyse_path(path: str) -> dict:
    """Fingerprint and classify one file (runs in a worker process)."""
    try:
        result = analyze_file(path, _WORKER_PROFILES)
    except audio.AudioError as exc:
        return {"path": path, "error": exc.reason}
    except MemoryError:
        return {"path": path, "error": "too large to analyse in memory"}
    return {
        "path": path,
        "fingerprint": result.fingerprint.as_vector().tolist(),
        "fingerprint_version": FINGERPRINT_VERSION,
        "type": result.detection.type,
        "confidence": result.detection.confidence,
        "error": None,
    }


def scan(
    home: Path,
    root: Path,
    jobs: int | None = None,
    progress_stream=None,
    analyse: bool = True,
) -> ScanSummary:
    """Index ``root`` into ``home``'s library and analyse what is new or outdated."""
    started = time.monotonic()
    root_text = str(root.resolve())
    summary = ScanSummary(root_text)
    known = store.known_files(home, root_text)
    fresh: list[dict] = []
    reappeared: list[str] = []
    seen: set[str] = set()
    try:
        for entry in walk_audio_files(Path(root_text)):
            status = entry.stat()
            seen.add(entry.path)
            previous = known.get(entry.path)
            if previous and previous.size == status.st_size and previous.mtime == status.st_mtime:
                summary.unchanged += 1
                if previous.missing:
                    reappeared.append(entry.path)
                continue
            summary.changed += previous is not None
            summary.new += previous is None
            fresh.append(_tag_row(entry.path, root_text, status.st_size, status.st_mtime))
            if len(fresh) >= 2000:
                store.upsert_tracks(home, fresh)
                fresh.clear()
        store.upsert_tracks(home, fresh)
        fresh.clear()
        store.set_missing(home, reappeared, False)
        gone = [path for path, info in known.items() if path not in seen and not info.missing]
        store.set_missing(home, gone, True)
        summary.missing = len(gone)
        summary.seen = len(seen)
        if analyse:
            _analyse_pending(home, root_text, jobs or os.cpu_count() or 1, summary, progress_stream)
    except KeyboardInterrupt:
        store.upsert_tracks(home, fresh)
        summary.interrupted = True
    summary.errors = _errors(home, root_text)
    summary.seconds = time.monotonic() - started
    return summary


def _errors(home: Path, root: str) -> list[tuple[str, str]]:
    with store.connect(home, read_only=True) as con:
        return con.execute(
            "SELECT path, error FROM tracks WHERE root = ? AND error IS NOT NULL AND NOT missing ORDER BY path", [root]
        ).fetchall()


def _worker_pool(jobs: int, profiles: dict) -> ProcessPoolExecutor:
    """Fresh (spawned) single-threaded workers: the pool is the parallelism, and BLAS threads in
    every worker would fight over the same cores (measured: --jobs 2 went from 1.1× to 1.8×)."""
    one_blas_thread()
    context = multiprocessing.get_context("spawn")
    return ProcessPoolExecutor(
        max_workers=max(1, jobs), mp_context=context, initializer=_start_worker, initargs=(profiles,)
    )


def _stop(executor: ProcessPoolExecutor) -> None:
    """Stop the pool now: queued files are dropped and the workers killed mid-file. Otherwise Ctrl-C
    waits, at exit, for every worker to start up and finish its file (2-20 s measured with both
    cores busy; forever for a hung one). Workers only read, so nothing is lost. The process table
    is read before ``shutdown`` clears it (3.14 has ``kill_workers``; 3.11 no public way)."""
    workers = list((executor._processes or {}).values())
    executor.shutdown(wait=False, cancel_futures=True)
    for worker in workers:
        worker.kill()
    # the pool's manager thread sees the dead workers and ends; joined here, not at interpreter
    # exit, where its wake-up pipe may already be closed ("Bad file descriptor" tracebacks)
    executor.shutdown(wait=True)


def _analyse_pending(home: Path, root: str, jobs: int, summary: ScanSummary, stream) -> None:
    pending = [p for p in store.pending_analysis(home, FINGERPRINT_VERSION) if p.startswith(root)]
    if not pending:
        return
    bar = Progress("analysing", len(pending), stream=stream)
    finished: list[dict] = []
    last_write = time.monotonic()
    queue = iter(pending)
    profiles, _ = personal.effective_profiles(home)  # classified as rating and playback will
    executor = _worker_pool(jobs, profiles)
    in_flight: dict[Future, str] = {}

    def submit_next() -> None:
        path = next(queue, None)
        if path is not None:
            in_flight[executor.submit(analyse_path, path)] = path

    try:
        for _ in range(4 * jobs):  # keep the pool busy without queueing the whole library
            submit_next()
        while in_flight:
            done, _ = wait(in_flight, timeout=BATCH_SECONDS, return_when=FIRST_COMPLETED)
            for future in done:
                path = in_flight.pop(future, None)
                if path is None:  # a future of a pool that broke earlier in this batch: resubmitted
                    continue
                try:
                    finished.append(future.result())
                except BrokenProcessPool:
                    finished.append({"path": path, "error": "the analysis worker crashed on this file"})
                    _stop(executor)
                    retry = list(in_flight.values())
                    in_flight.clear()
                    executor = _worker_pool(jobs, profiles)
                    for other in retry:
                        in_flight[executor.submit(analyse_path, other)] = other
                bar.advance()
                submit_next()
            if finished and (time.monotonic() - last_write >= BATCH_SECONDS or not in_flight):
                store.save_analyses(home, finished)
                summary.analysed += len(finished)
                finished.clear()
                last_write = time.monotonic()
    finally:
        _stop(executor)
        if finished:  # Ctrl-C: keep what is done
            store.save_analyses(home, finished)
            summary.analysed += len(finished)
        bar.close()
