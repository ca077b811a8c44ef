"""A connection to the home's server, for the CLI and the app: requests wait for their answer;
events (after ``subscribe``) go to a callback on the reader thread."""

from __future__ import annotations

import contextlib
import itertools
import json
import socket
import threading
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path

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
        request_id = next(self._ids)
        answer: Future = Future()
        with self._lock:
            self._waiting[request_id] = answer
            try:
                self.sock.sendall(protocol.request_line(request_id, cmd, args))
            except OSError as exc:
                self._waiting.pop(request_id, None)
                raise runtime.ServerUnavailable(f"the server went away ({exc.strerror or exc})") from None
        reply = answer.result(timeout)
        if not reply.get("ok"):
            raise ServerError(reply.get("error") or "refused")
        return reply.get("result")

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
