"""The messages workers and panels send: one type per thing that happened, handled by name."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from textual.message import Message


@dataclass
class LibraryLoaded(Message):
    rows: list[dict]


@dataclass
class InsightsLoaded(Message):
    """Everything Patterns and Trends show, from one read of the feedback."""

    summaries: list
    applicable: dict[str, list]  # type → recommendations enter would apply now
    monthly: list[dict]
    distribution: list[tuple]
    versions: list[tuple]
    fixes: list[dict]
    confidences: list[dict]
    heard: list[dict]


@dataclass
class PlayerReady(Message):
    player: object


@dataclass
class AudioOff(Message):
    reason: str


@dataclass
class PlayRequested(Message):
    """Play ``paths`` from ``index`` (the Library's visible rows)."""

    paths: list[Path]
    index: int


@dataclass
class EventRecorded(Message):
    """A feedback line is on disk."""

    line: dict


@dataclass
class Learned(Message):
    """After an event, the track's feedback-updated confidence per type."""

    path: str
    confidence: dict[str, float]


@dataclass
class Degradations(Message):
    warnings: list


@dataclass
class MasteringChanged(Message):
    """A profile or the personal layer has a new version: states and insights are out of date."""

    notice: str


@dataclass
class Notice(Message):
    text: str
    severity: str = "information"
    timeout: float = field(default=4.0)


@dataclass
class QueueRequested(Message):
    """Queue ``paths`` at the end, or right after the current track (``next``)."""

    paths: list[Path]
    next: bool = False


@dataclass
class QueueAction(Message):
    """Do ``action`` (play, remove, up, down) to the queue item ``item``."""

    action: str
    item: int
    position: int


@dataclass
class QueueLoaded(Message):
    items: list[dict]
    current: int | None


@dataclass
class ServerSaid(Message):
    """The server pushed ``name`` (a playlist change, a rating from another client, an error…)."""

    name: str
    data: object
