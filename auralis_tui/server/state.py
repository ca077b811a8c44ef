"""THE owner of the server's saved state in the home: ``server-queue.json`` (the queue and its
modes, written when they change) and ``server-state.json`` (the current item, position, volume and
play state, written after every command and once a second while playing: small, so a queue of
100,000 tracks isn't rewritten every second). Each is written atomically (a temporary file renamed
over the old one), so a server killed mid-write leaves the previous version whole."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

STATE_VERSION = 2
log = logging.getLogger("auralis.server")


def path(home: Path) -> Path:
    return home / "server-state.json"


def queue_path(home: Path) -> Path:
    return home / "server-queue.json"


def save(home: Path, state: dict) -> None:
    _write(path(home), state)


def save_queue(home: Path, queue: dict) -> None:
    _write(queue_path(home), queue)


def load(home: Path) -> dict:
    """The saved state with the saved queue under ``"queue"``; what is missing or unreadable is
    empty (said once in the log)."""
    return {**_read(path(home)), "queue": _read(queue_path(home))}


def _write(target: Path, data: dict) -> None:
    scratch = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    scratch.write_text(json.dumps({"version": STATE_VERSION, **data}, ensure_ascii=False))
    os.replace(scratch, target)


def _read(source: Path) -> dict:
    try:
        data = json.loads(source.read_text())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        log.warning(f"{source} could not be read ({exc}); starting with an empty queue")
        return {}
    if not isinstance(data, dict) or data.get("version") != STATE_VERSION:
        log.warning(f"{source} is not a state this version knows; starting with an empty queue")
        return {}
    return data
