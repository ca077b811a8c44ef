"""The one way clients talk to the home's server: ``Connection`` (requests wait for their answer;
events, after ``subscribe``, go to a callback on the reader thread) and ``RemotePlayer`` (the
server's player behind the app's player calls)."""

from __future__ import annotations

import contextlib
import itertools
import json
import socket
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from pathlib import Path
from types import SimpleNamespace

from ..playstate import Status
from . import protocol, runtime

REPLY_SECONDS = 30.0  # a rating waits for the database; anything else answers in milliseconds


class ServerError(RuntimeError):
    """The server refused a request; the message is its reason."""


class Connection:
    def __init__(self, home: Path, start: bool = True, audio: bool = True,
                 on_event: Callable[[str, object], None] | None = None) -> None:  # fmt: skip
        self.sock = runtime.connect(home, start, audio)
        self.on_event = on_event
        self._ids = itertools.count(1)
        self._waiting: dict[int, Future] = {}
        self._lock = threading.Lock()
        self._reader = self.sock.makefile("rb")
        hello = json.loads(self._reader.readline() or b"{}")
        if hello.get("protocol") != protocol.PROTOCOL:
            self.sock.close()
            spoken = hello.get("protocol")
            raise runtime.ServerUnavailable(
                f"the server speaks protocol {spoken}, not {protocol.PROTOCOL} (restart it: `auralis stop --server`)"
            )
        self.server_version = hello.get("version")
        self._thread = threading.Thread(target=self._read, name="auralis-client", daemon=True)
        self._thread.start()

    def request(self, cmd: str, timeout: float = REPLY_SECONDS, **args: object) -> object:
        """Send one request and wait for its result; ``ServerError`` when it was refused."""
        reply = self.submit(cmd, **args).result(timeout)
        if not reply.get("ok"):
            raise ServerError(reply.get("error") or "refused")
        return reply.get("result")

    def submit(self, cmd: str, **args: object) -> Future:
        """Send one request; the future holds the server's whole reply (``ok``, ``result``/``error``)."""
        request_id = next(self._ids)
        answer: Future = Future()
        with self._lock:
            self._waiting[request_id] = answer
            try:
                self.sock.sendall(protocol.request_line(request_id, cmd, args))
            except OSError as exc:
                self._waiting.pop(request_id, None)
                raise runtime.ServerUnavailable(f"the server went away ({exc.strerror or exc})") from None
        return answer

    def _read(self) -> None:
        try:
            for line in self._reader:
                message = json.loads(line)
                if "event" in message:
                    if self.on_event:
                        self.on_event(message["event"], message.get("data"))
                    continue
                with self._lock:
                    waiting = self._waiting.pop(message.get("id"), None)
                if waiting is not None:
                    waiting.set_result(message)
        except (OSError, ValueError):
            pass
        finally:
            self._fail_waiting()
            if self.on_event:
                self.on_event("closed", None)

    def _fail_waiting(self) -> None:
        with self._lock:
            waiting, self._waiting = self._waiting, {}
        for future in waiting.values():
            future.set_result({"ok": False, "error": "the server went away"})

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()


def chunks(paths: list[str], budget: int = protocol.MAX_LINE // 4) -> Iterator[list[str]]:
    """``paths`` in runs whose request line stays well under the protocol's limit."""
    run, size = [], 0
    for path in paths:
        if run and size + len(path) + 8 > budget:
            yield run
            run, size = [], 0
        run.append(path)
        size += len(path.encode()) + 8
    if run:
        yield run


class RemotePlayer:
    """The server's player as the app drives it: the same calls as ``player.Player``, answered by
    the server. Commands never wait (the UI thread sends them); ``status()`` is the latest state
    the server pushed, so reading it costs nothing."""

    def __init__(self, home: Path, audio: bool = True, on_change: Callable[[str, object], None] | None = None):
        self._on_change = on_change
        self._lock = threading.Lock()
        self._status: dict = {}
        self.connection = Connection(home, start=True, audio=audio, on_event=self._event)
        self._take(self.connection.request("subscribe"))

    # --- what the server says --------------------------------------------------------------------

    def _event(self, name: str, data: object) -> None:
        if name == "player":
            self._take(data)
        elif name == "position":
            with self._lock:
                self._status.update(data)
        elif name == "mixer":
            with self._lock:
                self._status["volume"] = data["volume"]
        elif name == "options":
            with self._lock:
                self._status["modes"] = data
        if self._on_change:
            self._on_change(name, data)

    def _take(self, status: object) -> None:
        if isinstance(status, dict) and "state" in status:
            with self._lock:
                self._status = dict(status)

    def _send(self, cmd: str, **args: object) -> Future:
        """Send without waiting; the answer (the new status) replaces the one shown."""
        try:
            answer = self.connection.submit(cmd, **args)
        except runtime.ServerUnavailable as exc:  # it died this instant: the reader says "closed" next
            answer = Future()
            answer.set_result({"ok": False, "error": str(exc)})
        answer.add_done_callback(self._answered)
        return answer

    def _answered(self, done: Future) -> None:
        reply = done.result()
        if reply.get("ok"):
            self._take(reply.get("result"))
            return
        if self._on_change:
            self._on_change("error", reply.get("error"))

    def status(self) -> Status:
        with self._lock:
            s = dict(self._status)
        if not s:
            return Status()
        info = s.get("info")
        return Status(
            state=s["state"], track=s["id"], path=Path(s["path"]) if s.get("path") else None,
            position=s["position"], duration=s["duration"], mastered=s["mastered"], volume=s["volume"] / 100,
            underruns=s["underruns"], message=s["message"], info=SimpleNamespace(**info) if info else None,
        )  # fmt: skip

    @property
    def audio(self) -> bool:
        with self._lock:
            return bool(self._status.get("audio"))

    # --- the Player's calls ----------------------------------------------------------------------

    def load(self, paths: list[Path]) -> None:
        self._paths = [str(p) for p in paths]

    def play(self, index: int = 0, seconds: float = 0.0) -> None:
        """Play the loaded list from ``index``: it becomes the queue. The chosen track goes first,
        so it starts at once; the rest follows in requests of bounded size (a whole library)."""
        chosen, after, before = self._paths[index], self._paths[index + 1 :], self._paths[:index]
        self._send("add", paths=[chosen], replace=True, play=True)
        for chunk in chunks(after):
            self._send("add", paths=chunk)
        at = 0
        for chunk in chunks(before):
            self._send("add", paths=chunk, pos=at)
            at += len(chunk)

    def toggle_pause(self) -> None:
        self._send("toggle")

    def stop(self) -> None:
        self._send("stop")

    def seek(self, seconds: float, relative: bool = False) -> None:
        self._send("seek", seconds=seconds, relative=relative)

    def next(self) -> None:
        self._send("next")

    def previous(self) -> None:
        self._send("previous")

    def set_volume(self, volume: float) -> None:
        self._send("volume", value=round(volume * 100))

    def toggle_ab(self) -> bool:
        mastered = self.status().mastered is False
        self._send("ab", mastered=mastered)
        return mastered

    def enqueue(self, paths: list[Path], next_up: bool = False) -> None:
        self._send("add", paths=[str(p) for p in paths], next=next_up)

    def edit(self, cmd: str, **args: object) -> None:
        """Any other request (``play`` an id, ``remove``, ``move``, ``reload``…), answered like the rest."""
        self._send(cmd, **args)

    def close(self) -> None:
        """The app goes; the music stays."""
        self.connection.close()
