"""What the server does, whichever frontend asks: the queue, playback, volume, modes and the
rating path. Every method runs on the server's event loop; the slow ones (recording a rating and
learning from it) are coroutines that do their work in a thread.

Each change is announced to ``listeners`` as ``(subsystem, data)``; the subsystems are MPD's idle
names where one fits: ``player`` (state or track), ``position``, ``playlist``, ``mixer``,
``options``, ``rating`` and ``degraded``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

from engine.errors import AudioError

from .. import feedback
from ..errors import AudioUnavailable
from ..treatments import Treatments
from . import state as saved
from .protocol import ProtocolError, flag, integer, number, optional, text
from .queue import Queue, QueueError

log = logging.getLogger("auralis.server")

POSITION_HZ = 4  # position events at most this often
SAVE_EVERY = 1.0  # seconds between saves of the position while playing


class Refusal(ValueError):
    """A request the server understood but cannot do now (nothing plays, no sound…)."""


def existing_files(paths: list[str]) -> list[Path]:
    """``paths`` resolved, in order; ``Refusal`` naming the first that is not a file."""
    files = [Path(p).expanduser().resolve() for p in paths]
    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        raise Refusal(f"not a file: {missing[0]}" + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""))
    return files


class Controller:
    def __init__(self, home: Path, audio: bool = True) -> None:
        self.home = home
        self.treatments = Treatments(home)
        self.titles: dict[str, str] = {}
        self.listeners: set[Callable[[str, object], None]] = set()
        self.player = None
        self.audio_message = "sound off (--no-audio)"
        if audio:
            self._open_player()
        restored = saved.load(home)
        try:
            self.queue = Queue.from_dict(restored.get("queue", {}))
        except (KeyError, TypeError, ValueError) as exc:
            log.warning(f"the saved queue is damaged ({exc!r}); starting with an empty queue")
            self.queue, restored = Queue(), {}
        self.volume = min(100, max(0, int(restored.get("volume", 100))))
        self._resume(restored)
        self._seen: tuple = ()
        self._saved_at = 0.0
        self._saved_queue = self.queue.version if restored else -1  # the version on disk
        self._sounding: int | None = None  # the track the last tick saw: a change means one ended

    def _open_player(self) -> None:
        from ..config import load_config
        from ..player import Player

        try:
            device = load_config(self.home).audio_device or None
            self.player = Player(self.home, device, state_for=self.treatments.start)
            self.audio_message = ""
        except AudioUnavailable as exc:
            self.audio_message = str(exc)
            log.warning(f"playing nothing: {exc}")

    def _resume(self, restored: dict) -> None:
        """Back where the last server left off: same queue and track, paused at the same place."""
        self._current = restored.get("current") if self.queue.path_of(restored.get("current")) else None
        self._position = float(restored.get("position", 0.0))
        if self.player:
            self.player.set_volume(self.volume / 100)
            self.player.use(self.queue.snapshot())
            if self._current is not None and restored.get("state") in ("playing", "paused"):
                self.player.play(self._current, self._position)
                self.player.toggle_pause()

    def load_library(self) -> list[dict]:
        """Titles and fingerprints from the library (in a thread: a read of the database, the
        feedback log caught up first for the ratings); the rows, in the library's order."""
        from .. import store

        try:
            rows = store.library_listing(self.home)
        except store.StoreError as exc:
            log.warning(f"library not loaded: {exc}")
            return []
        self.treatments.know(rows)
        self.titles = {row["path"]: row["title"] for row in rows if row.get("title")}
        return rows

    async def library(self, _args: dict) -> list[dict]:
        """The library as the app lists it (read again: a scan may have changed it), without the
        fingerprints, which only the server uses."""
        rows = await asyncio.to_thread(self.load_library)
        return [{key: value for key, value in row.items() if key != "fingerprint"} for row in rows]

    # --- events --------------------------------------------------------------------------------

    def announce(self, subsystem: str, data: object = None) -> None:
        for listener in list(self.listeners):
            listener(subsystem, data)

    def _queue_changed(self) -> None:
        if self.player:
            self.player.use(self.queue.snapshot())
        self.announce("playlist", {"version": self.queue.version, "length": len(self.queue.items)})
        self.save()

    def tick(self) -> None:
        """Called ``POSITION_HZ`` times a second: announce what changed, keep the saved state current."""
        status = self.player.status() if self.player else None
        if status is None:
            return
        if self._sounding is not None and status.track is not None and status.track != self._sounding:
            self._track_ended(self._sounding)
        elif self._sounding is not None and status.state == "stopped":  # the queue played out, or failed
            if not status.message:  # played to its end (a stop command forgets the track first)
                self._track_ended(self._sounding)
            self._sounding = None
        if status.track is not None and self.queue.path_of(status.track) is not None:
            self._current = status.track
            if status.state != "stopped":
                self._sounding = status.track
        self._position = status.position
        seen = (status.state, status.track, status.mastered, status.message, status.info is not None)
        if seen != self._seen:
            self._seen = seen
            self.announce("player", self.status())
            self.save()
        elif status.state == "playing":
            self.announce("position", {"position": round(status.position, 2), "duration": status.duration})
            if time.monotonic() - self._saved_at >= SAVE_EVERY:
                self.save()

    def _track_ended(self, item_id: int) -> None:
        """Consume (as MPD's): a track played to its end, or skipped, leaves the queue — the last one too."""
        if self.queue.modes["consume"] and self.queue.path_of(item_id) is not None:
            self.queue.remove(item_id)
            self._queue_changed()

    def save(self) -> None:
        """Write the state now (after every command, and once a second while playing)."""
        self._saved_at = time.monotonic()
        status = self.player.status() if self.player else None
        state = status.state if status else "stopped"
        if status and self.queue.path_of(status.track) is not None:  # not one removed since
            self._current, self._position = status.track, status.position
        if self.queue.version != self._saved_queue:
            saved.save_queue(self.home, self.queue.to_dict())
            self._saved_queue = self.queue.version
        saved.save(self.home, {
            "current": self._current, "position": round(self._position, 3), "state": state, "volume": self.volume,
        })  # fmt: skip

    def close(self) -> None:
        if self.player:
            self.tick()
            self.save()
            self.player.close()

    # --- reading -------------------------------------------------------------------------------

    def title_of(self, path: Path | str | None) -> str:
        return "" if path is None else self.titles.get(str(path)) or Path(path).name

    def status(self, _args: dict | None = None) -> dict:
        status = self.player.status() if self.player else None
        current = status.track if status and status.track is not None else self._current
        current = current if self.queue.path_of(current) is not None else None  # removed from the queue
        path = self.queue.path_of(current) if current is not None else None
        info = status.info if status else None
        shown = (status.path if status else None) or path
        return {
            "state": status.state if status else "stopped",
            "id": current,
            "pos": self.queue.position(current) if current is not None else None,
            "path": str(shown) if shown else None,
            "title": self.title_of(shown),
            "position": round(status.position if status else self._position, 2),
            "duration": round(status.duration, 2) if status else 0.0,
            "volume": self.volume,
            "mastered": status.mastered if status else True,
            "heard": status.heard if status else "mastered",
            "modes": dict(self.queue.modes),
            "queue_version": self.queue.version,
            "queue_length": len(self.queue.items),
            "underruns": status.underruns if status else 0,
            "message": (status.message if status else "") or self.audio_message,
            "audio": self.player is not None,
            "info": None if info is None else info.summary(),
        }

    def queue_list(self, _args: dict | None = None) -> dict:
        return {
            "version": self.queue.version,
            "items": [
                {"id": item.id, "pos": n, "path": str(item.path), "title": self.title_of(item.path)}
                for n, item in enumerate(self.queue.items)
            ],
        }

    # --- playback ------------------------------------------------------------------------------

    def _need_player(self):
        if self.player is None:
            raise Refusal(self.audio_message or "no sound")
        return self.player

    def play(self, args: dict) -> dict:
        """Play queue position ``pos`` or item ``id``; without either, resume or start the queue."""
        player = self._need_player()
        pos, item_id = optional(args, "pos", integer), optional(args, "id", integer)
        if pos is not None:
            item_id = self.queue.at(pos).id
        seconds = optional(args, "seconds", number) or 0.0
        if item_id is None:
            status = player.status()
            if status.state == "paused":
                player.toggle_pause()
                return self.status()
            if status.state == "playing":
                return self.status()
            item_id, seconds = (self._current, self._position) if self._current is not None else (
                self.queue.first(), 0.0)  # fmt: skip
            if item_id is None:
                raise Refusal("the queue is empty: add something first")
        if self.queue.path_of(item_id) is None:
            raise QueueError(f"no item with id {item_id} in the queue")
        if self._sounding is not None and self._sounding != item_id:
            self._track_ended(self._sounding)  # left for another (as the tick would have seen)
        player.play(item_id, seconds)
        self._current, self._position = item_id, seconds
        self._sounding = item_id  # a short track may end before the next tick sees it sound
        return self.status()

    def pause(self, args: dict) -> dict:
        """Pause (``on`` true, the default) or resume (``on`` false)."""
        player = self._need_player()
        wanted = flag(args, "on", True)
        state = player.status().state
        if (state == "playing" and wanted) or (state == "paused" and not wanted):
            player.toggle_pause()
        elif state == "stopped" and not wanted:
            return self.play({})
        return self.status()

    def toggle(self, _args: dict) -> dict:
        player = self._need_player()
        if player.status().state == "stopped":
            return self.play({})
        player.toggle_pause()
        return self.status()

    def stop(self, _args: dict) -> dict:
        if self.player:
            self.player.stop()
        self._sounding = None  # stopped, not played out: consume keeps it
        self._position = 0.0
        return self.status()

    def next(self, _args: dict) -> dict:
        return self._skip(self.queue.following(self.status()["id"], skip=True))

    def previous(self, _args: dict) -> dict:
        return self._skip(self.queue.preceding(self.status()["id"]))

    def _skip(self, item_id: int | None) -> dict:
        self._need_player()
        if item_id is None:
            raise Refusal("no track to go to")
        return self.play({"id": item_id})

    def seek(self, args: dict) -> dict:
        """Move to ``seconds`` (from the start, or ``relative`` to now); a paused track stays paused."""
        player = self._need_player()
        if player.status().state == "stopped":
            raise Refusal("nothing is playing")
        player.seek(number(args, "seconds"), relative=flag(args, "relative"))
        return self.status()

    def set_volume(self, args: dict) -> dict:
        """Volume 0–100: ``value``, or a step when ``relative``."""
        value = number(args, "value")
        self.volume = round(min(100.0, max(0.0, self.volume + value if flag(args, "relative") else value)))
        if self.player:
            self.player.set_volume(self.volume / 100)
        self.announce("mixer", {"volume": self.volume})
        self.save()
        return self.status()

    def ab(self, args: dict) -> dict:
        """Hear the original (``mastered`` false) or the master; without it, switch."""
        player = self._need_player()
        mastered = optional(args, "mastered", flag)
        player.set_mastered(mastered) if mastered is not None else player.toggle_ab()
        return self.status()

    def set_mode(self, args: dict) -> dict:
        self.queue.set_mode(text(args, "mode", limit=16), flag(args, "on"), self._current)
        self.announce("options", dict(self.queue.modes))
        self._queue_changed()
        return self.status()

    # --- the queue -----------------------------------------------------------------------------

    async def add(self, args: dict) -> dict:
        """Queue ``paths`` (files; at ``pos``, after the current track with ``next``, or in place of
        the whole queue with ``replace``); ``play`` starts the first of them, ``start`` the one at
        that index. The files are looked up in a thread: 10,000 paths take ~1 s of disk lookups,
        which on the event loop would hold every other client (and MPD) up meanwhile."""
        paths = args.get("paths")
        if not isinstance(paths, list) or not paths or not all(isinstance(p, str) and p for p in paths):
            raise ProtocolError("paths must be a list of file paths")
        files = await asyncio.to_thread(existing_files, paths)
        at, start = optional(args, "pos", integer), optional(args, "start", integer)
        if start is not None and not 0 <= start < len(files):
            raise ProtocolError(f"start must be an index into the {len(files)} paths")
        if flag(args, "replace"):
            self.clear({})
        if flag(args, "next"):
            here = self.queue.position(self._current) if self._current is not None else None
            at = len(self.queue.items) if here is None else here + 1
        ids = self.queue.add(files, at)
        self._queue_changed()
        if flag(args, "play") or start is not None:
            self.play({"id": ids[start or 0]})
        return {"ids": ids, "at": self.queue.position(ids[0]), **self.status()}

    def remove(self, args: dict) -> dict:
        """Remove the item ``id`` (or at ``pos``); removing the playing one stops it."""
        item_id = optional(args, "id", integer)
        if item_id is None:
            item_id = self.queue.at(integer(args, "pos")).id
        if item_id == self._current:
            self.stop({})
            self._current = None
        self.queue.remove(item_id)
        self._queue_changed()
        return self.status()

    def move(self, args: dict) -> dict:
        self.queue.move(integer(args, "source"), integer(args, "target"))
        self._queue_changed()
        return self.status()

    def clear(self, _args: dict) -> dict:
        self.stop({})
        self._current = None
        self.queue.clear()
        self._queue_changed()
        return self.status()

    # --- ratings -------------------------------------------------------------------------------

    async def record(self, args: dict) -> dict:
        """Record a rating or fix decision. Without ``path`` it is about the track playing now, with
        the version and variant the server chose for it; ``heard`` defaults to what plays."""
        event = text(args, "event", "rating", limit=16)
        if event not in feedback.EVENTS:
            raise ProtocolError(f"event is one of {', '.join(feedback.EVENTS)}")
        status = self.player.status() if self.player else None
        playing = status is not None and status.state != "stopped" and status.path is not None
        path = optional(args, "path", text)
        if path is None and not playing:
            raise Refusal("nothing is playing: name the track")
        path = path or str(status.path)
        state = status.info if playing and status.info and str(status.info.path) == path else None
        fields = {"comment": feedback.cap_comment(optional(args, "comment", text) or "")[0]}
        if event == "rating":
            fields |= {"rating": integer(args, "rating"),
                       "heard": optional(args, "heard", text) or (status.heard if state else "mastered")}  # fmt: skip
        if args.get("refers_to") is not None:
            fields["refers_to"] = text(args, "refers_to", limit=64)
        if isinstance(args.get("fix"), dict):
            fields["fix"] = {"parameter": optional(args["fix"], "parameter", text), "delta": args["fix"].get("delta")}
        line, outcome = await asyncio.to_thread(self._write, path, event, fields, state)
        self.announce("rating", line)
        degraded = [{**asdict(warning), "message": warning.message()} for warning in outcome.degradations]
        if degraded:
            self.announce("degraded", degraded)
        return {"line": line, "degraded": degraded}

    def _write(self, path: str, event: str, fields: dict, state):
        """The one rating path: the line goes to the log, then learning catches up."""
        from .. import rating
        from ..learning import after_feedback

        try:
            state = state or self.treatments.state(path)
        except AudioError as exc:  # an unreadable file: the client says so in one line
            raise Refusal(f"cannot rate {exc}") from None
        line = rating.record(self.home, state, event, **fields)
        outcome = after_feedback(self.home, path)
        self.treatments.learned(path, outcome.learned)
        return line, outcome

    def reload(self, _args: dict) -> dict:
        """A profile or the personal layer changed: the next tracks start with the new mastering."""
        self.treatments.reload()
        return self.status()
