"""The engine's error types, importable without numpy or scipy (the CLI catches them at start-up)."""

from __future__ import annotations

from pathlib import Path


class AudioError(Exception):
    """A file could not be decoded or written; the message is one line naming the file."""

    def __init__(self, path: str | Path, reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{Path(path).name}: {reason}")


class ProfileError(ValueError):
    """A profile file is missing, unparsable or outside the schema; the message says where."""
