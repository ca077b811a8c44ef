"""Feedback typed in the app, written in the order it was typed, off the event loop.

Writing a line (and learning from it) runs in a thread so a key never waits for the disk or
the server. One thread at a time drains a first-in-first-out list, so lines land in key order
— a thread per key let ``4`` then ``u`` withdraw the rating *before* the ``4``, and ``y``
answer a rating typed earlier. An answer (``u``, ``y``/``x``/``z``) carries the *serial* of
the rating it answers, known when the key is pressed; the writer turns it into that rating's
id once the rating is written, and drops the answer if the rating could not be.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from textual.app import App

from .format import safe


@dataclass(frozen=True)
class Pending:
    """One event to write: a rating (``serial``: its number in this session) or an answer to one
    (``answers``: that rating's serial)."""

    path: str
    event: str
    fields: dict = field(default_factory=dict)
    state: object | None = None  # the player's rating.TrackState for a playing track
    serial: int | None = None
    answers: int | None = None


class FeedbackWriter:
    """Writes :class:`Pending` events with ``write(path, event, fields, state) -> line`` in one
    worker thread at a time, in the order :meth:`put` got them."""

    def __init__(self, app: App, write: Callable[[str, str, dict, object | None], dict]) -> None:
        self.app, self.write = app, write
        self._waiting: deque[Pending] = deque()
        self._lock = threading.Lock()
        self._draining = False
        self._ids: dict[int, str] = {}  # rating serial → the id it was written with (the worker's)

    def put(self, pending: Pending) -> None:
        with self._lock:
            self._waiting.append(pending)
            if self._draining:
                return  # the running worker takes it after the ones before it
            self._draining = True
        self.app.run_worker(self._drain, thread=True, group="feedback", exit_on_error=False)

    def _drain(self) -> None:
        while True:
            with self._lock:
                if not self._waiting:
                    self._draining = False
                    return
                pending = self._waiting.popleft()
            self._write(pending)

    def _write(self, pending: Pending) -> None:
        fields = dict(pending.fields)
        if pending.answers is not None:
            if pending.answers not in self._ids:
                self.app.notify(f"{pending.event} not saved: the rating it answers was not", severity="error")
                return
            fields["refers_to"] = self._ids[pending.answers]
        try:
            line = self.write(pending.path, pending.event, fields, pending.state)
        except Exception as exc:  # a failed line is reported; the ones after it still go
            self.app.notify(f"{pending.event} not saved: {safe(exc)}", severity="error", timeout=8)
            return
        if pending.serial is not None:
            self._ids[pending.serial] = line["id"]
