"""One home for "how is this track mastered now": the profile version and personal layer in use,
the feedback-updated detection confidence and, while a blind A/B test of its type runs, the
variant drawn for it. The player asks when a track starts, the rating path when a key is
pressed, the app when it shows why a track sounds the way it does; all get the same answer."""

from __future__ import annotations

import threading
from array import array
from collections.abc import Iterable, Mapping
from pathlib import Path

from .rating import TrackState


class Treatments:
    """The mastering each track gets now, cached per track until something it depends on changes."""

    def __init__(self, home: Path, use_personal: bool = True) -> None:
        self.home = home
        self.use_personal = use_personal
        self._lock = threading.Lock()
        self._mastering = None  # (effective profiles, personal layer), loaded on first need
        self._fingerprints: dict[str, array] = {}  # packed doubles: a third of a list's memory
        self._learned: dict[str, dict[str, float]] = {}
        self._states: dict[str, TrackState] = {}

    def know(self, rows: Iterable[Mapping]) -> None:
        """Take the library's current fingerprints and learned confidences (no database read later)."""
        with self._lock:
            for row in rows:
                path = row["path"]
                if row.get("fingerprint"):
                    self._fingerprints[path] = array("d", row["fingerprint"])
                if row.get("learned_confidence") is not None:
                    self._learned[path] = {row["type"]: row["learned_confidence"]}

    def learned(self, path: str, confidence: Mapping[str, float]) -> None:
        """Feedback moved the track's confidence: its next state uses the new value."""
        with self._lock:
            self._learned[str(path)] = dict(confidence)
            self._states.pop(str(path), None)

    def reload(self) -> None:
        """A profile or the personal layer changed: every state is worked out again."""
        with self._lock:
            self._mastering = None
            self._states.clear()

    def state(self, path: str | Path) -> TrackState:
        """The mastering ``path`` gets now (the variant already drawn for it, if any)."""
        with self._lock:
            known = self._states.get(str(path))
        return known or self.start(path)

    def start(self, path: str | Path) -> TrackState:
        """A track starts: a running A/B test of its type draws the variant it is heard with."""
        from . import abtest

        state = abtest.blind_state(self.home, self._base_state(str(path)))
        with self._lock:
            self._states[str(path)] = state
        return state

    def _base_state(self, path: str) -> TrackState:
        from . import personal, rating

        with self._lock:
            vector, learned, mastering = self._fingerprints.get(path), self._learned.get(path), self._mastering
        if vector is None:
            return rating.track_state(self.home, path, self.use_personal)
        if mastering is None:
            mastering = personal.effective_profiles(self.home, self.use_personal)
            with self._lock:
                self._mastering = mastering
        return rating.state_from(Path(path), vector, *mastering, learned)
