"""``auralis serve``: the one process per home that owns the audio device, the queue and the rating
writer. Clients speak ``protocol.py`` over a Unix socket (mode 0600, peer uid checked); one asyncio
loop serves them all, so a slow, silent or hostile client only ever costs its own connection.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import struct
import sys
from pathlib import Path

from .. import __version__, feedback
from . import protocol, runtime
from .controller import Controller, Refusal
from .queue import QueueError

log = logging.getLogger("auralis.server")

MAX_BACKLOG = 1 << 20  # bytes queued to a client that does not read: past this it is dropped

#: Request name → the controller method that answers it.
COMMANDS = {
    "status": "status", "queue": "queue_list", "play": "play", "pause": "pause", "toggle": "toggle",
    "stop": "stop", "next": "next", "previous": "previous", "seek": "seek", "volume": "set_volume", "ab": "ab",
    "mode": "set_mode", "add": "add", "remove": "remove", "move": "move", "clear": "clear", "record": "record",
    "reload": "reload", "library": "library",
}  # fmt: skip
READ_ONLY = ("status", "queue", "record", "library")
ANSWERABLE = (protocol.ProtocolError, Refusal, QueueError, feedback.FeedbackError)


def peer_uid(writer: asyncio.StreamWriter) -> int | None:
    sock = writer.get_extra_info("socket")
    try:
        creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    except OSError:
        return None
    return struct.unpack("3i", creds)[1]


class TooLong(ValueError):
    """A line past ``protocol.MAX_LINE``; it has been read to its end and dropped."""


async def read_line(reader: asyncio.StreamReader) -> bytes | None:
    """The next line (None at the end of the stream), never holding more than ``MAX_LINE`` bytes
    of it: a longer line is skipped to its newline and reported as ``TooLong``."""
    try:
        return await reader.readuntil(b"\n")
    except asyncio.IncompleteReadError as exc:
        return exc.partial or None
    except asyncio.LimitOverrunError:
        pass
    while True:
        try:
            await reader.readuntil(b"\n")
            raise TooLong
        except asyncio.LimitOverrunError as exc:
            await reader.readexactly(exc.consumed)  # drop what was scanned; the rest is still to come
        except asyncio.IncompleteReadError:
            return None


class Client:
    """One connection: what it is sent, and whether it wants events."""

    def __init__(self, writer: asyncio.StreamWriter) -> None:
        self.writer = writer
        self.subscribed = False

    def send(self, data: bytes) -> None:
        if self.writer.is_closing():
            return
        if self.writer.transport.get_write_buffer_size() > MAX_BACKLOG:
            log.warning("a client stopped reading; disconnected")
            self.writer.close()
            return
        self.writer.write(data)


class Server:
    def __init__(self, home: Path, audio: bool = True) -> None:
        self.home = home
        self.audio = audio
        self.clients: set[Client] = set()
        self.stopping = asyncio.Event()
        self.controller: Controller | None = None

    async def run(self) -> None:
        from . import mpd  # here: it builds on this module

        mpd_address = mpd.configured(self.home)  # a refused setting stops the start before anything runs
        lock = runtime.Lock(self.home)  # AlreadyRunning when another server has this home
        path = runtime.socket_path(self.home)
        listener = frontend = None
        try:
            self.controller = Controller(self.home, self.audio)
            self.controller.listeners.add(self.broadcast)
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(None, self.controller.load_library)  # titles before the first answer
            if mpd_address:  # before the socket: a client that reaches the server finds MPD up too
                frontend = await mpd.start(self.controller, *mpd_address)
            path.unlink(missing_ok=True)  # a dead server's socket: the lock says none runs now
            umask = os.umask(0o177)  # the socket is born 0600: no window where others could connect
            try:
                listener = await asyncio.start_unix_server(self.serve_client, path=path, limit=protocol.MAX_LINE)
            finally:
                os.umask(umask)
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, self.stopping.set)
            loop.add_signal_handler(signal.SIGHUP, lambda: None)  # a hang-up never stops the music
            log.info(f"serving {self.home} on {path} (pid {os.getpid()})")
            ticker = asyncio.create_task(self.tick())
            await self.stopping.wait()
            ticker.cancel()
        finally:
            if listener is not None:
                listener.close()
            if frontend is not None:
                frontend.close()
            for client in list(self.clients):
                client.writer.close()
            if self.controller is not None:
                self.controller.close()
            path.unlink(missing_ok=True)
            lock.release()
            log.info("stopped")

    async def tick(self) -> None:
        while True:
            await asyncio.sleep(1 / 4)
            try:
                self.controller.tick()
            except Exception:
                log.exception("tick failed")

    def broadcast(self, subsystem: str, data: object) -> None:
        message = protocol.event(subsystem, data)
        for client in list(self.clients):
            if client.subscribed:
                client.send(message)

    async def serve_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        client = Client(writer)
        if peer_uid(writer) != os.getuid():
            client.send(protocol.error(None, "refused: another user's client"))
            writer.close()
            return
        self.clients.add(client)
        client.send(protocol.hello(__version__))
        try:
            while not self.stopping.is_set():
                try:
                    line = await read_line(reader)
                except TooLong:
                    client.send(protocol.error(None, f"a request is at most {protocol.MAX_LINE} bytes; ignored"))
                    continue
                if line is None:
                    break
                if line.strip():
                    client.send(await self.answer(client, line))
                await writer.drain()
        except (ConnectionError, OSError):
            pass  # the client went away mid-request: only its own connection ends
        finally:
            self.clients.discard(client)
            writer.close()

    async def answer(self, client: Client, line: bytes) -> bytes:
        try:
            request = protocol.parse_request(line)
        except protocol.ProtocolError as exc:
            return protocol.error(None, str(exc))
        try:
            if request.cmd == "subscribe":
                client.subscribed = True
                return protocol.ok(request.id, self.controller.status())
            if request.cmd == "shutdown":
                self.stopping.set()
                return protocol.ok(request.id, "stopping")
            if request.cmd not in COMMANDS:
                raise protocol.ProtocolError(f"unknown command {request.cmd[:40]!r}")
            result = getattr(self.controller, COMMANDS[request.cmd])(request.args)
            if asyncio.iscoroutine(result):
                result = await result
            if request.cmd not in READ_ONLY:
                self.controller.save()  # a kill -9 a moment later still finds the place it left
            return protocol.ok(request.id, result)
        except ANSWERABLE as exc:
            return protocol.error(request.id, str(exc))
        except Exception as exc:  # a bug must not take the music down: say so, log it, carry on
            log.exception(f"{request.cmd} failed")
            return protocol.error(request.id, f"internal error: {exc!r}"[:300])


def serve(home: Path, audio: bool = True) -> None:
    """Run the server in this process until SIGTERM, SIGINT or a ``shutdown`` request."""
    handler = logging.StreamHandler(sys.stderr)  # server.log when detached, the journal under systemd
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False
    asyncio.run(Server(home, audio).run())
