"""The state of a player as every client shows it (no audio code here: the app imports it cheaply)."""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Status:
    """What a player reports: ``Player.status()`` (a copy, safe from any thread), or the server's
    status as a client sees it (``server.client.RemotePlayer``)."""

    state: str = "stopped"  # stopped | playing | paused
    track: Hashable | None = None  # the playlist's key
    path: Path | None = None
    position: float = 0.0  # seconds
    duration: float = 0.0
    mastered: bool | None = True  # None while blind
    blind: bool = False
    volume: float = 1.0
    underruns: int = 0
    message: str = ""
    info: object | None = None  # rating.TrackState, or its summary's fields for a client

    @property
    def heard(self) -> str:
        """What the listener hears now: "original" after the A/B key switched to it, else "mastered"."""
        return "original" if self.mastered is False else "mastered"
