"""THE owner of ``<home>/server-state.json``: the queue, the current track, the position, the
volume and the play state, as the server last saw them. Written atomically (a temporary file
renamed over the old one), so a server killed mid-write leaves the previous state whole."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

STATE_VERSION = 1
log = logging.getLogger("auralis.server")


def path(home: Path) -> Path:
    return home / "server-state.json"


def save(home: Path, state: dict) -> None:
    target = path(home)
    scratch = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    scratch.write_text(json.dumps({"version": STATE_VERSION, **state}, ensure_ascii=False))
    os.replace(scratch, target)


def load(home: Path) -> dict:
    """The saved state, or an empty one (said once in the log) when it is missing or unreadable."""
    try:
        data = json.loads(path(home).read_text())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        log.warning(f"{path(home)} could not be read ({exc}); starting with an empty queue")
        return {}
    if not isinstance(data, dict) or data.get("version") != STATE_VERSION:
        log.warning(f"{path(home)} is not a state this version knows; starting with an empty queue")
        return {}
    return data
