"""The MPD protocol frontend: ``mpc``, ncmpcpp, python-mpd2 and phone clients play, queue, browse
and rate through the music server.

Off unless config.toml has ``[mpd] listen = "HOST:PORT"``; an address that is not loopback also
needs ``password``, or the server refuses to start. It speaks MPD's text protocol (0.23): one
command per line, answers of ``key: value`` lines closed by ``OK``, or one
``ACK [code@index] {command} message`` line; command lists; ``idle``/``noidle``. Every client's
commands run one at a time on the server's loop, through the same ``Controller`` as the app's.
Song URIs are described in ``catalog.py``.

Ratings: a song's ``rating`` sticker holds MPD clients' 0–10 scale. Setting it records an Auralis
rating of ceil(N/2) stars, at least 1: 0–2 → 1 ★, 3–4 → 2, 5–6 → 3, 7–8 → 4, 9–10 → 5, through
the server's one rating path, so the line carries the mastering and A/B variant the track gets
and the learning loop takes it in. ``sticker get`` answers the value last set through MPD, else
the track's latest rating × 2; ``sticker delete`` withdraws the latest rating (an ``undo`` line).
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import time
from pathlib import Path

from .. import feedback, store
from ..config import ConfigError, config_path, load_config, split_address
from .catalog import Catalog, FilterError
from .controller import Controller, Refusal
from .daemon import TooLong, read_line
from .mpd_commands import ARG, COMMANDS, PERMISSION, PLAYER_SYNC, SYSTEM, UNKNOWN, Ack, Commands
from .protocol import ProtocolError
from .queue import QueueError

log = logging.getLogger("auralis.server")

VERSION = "0.23.5"  # the protocol version clients are told
MAX_LINE = 64 * 1024
MAX_CLIENTS = 100
MAX_LIST = 4096  # commands in one command list
SUBSYSTEMS = (
    "database", "update", "stored_playlist", "playlist", "player", "mixer", "output", "options",
    "partition", "sticker", "subscription", "message",
)  # fmt: skip
#: The controller's announcements → MPD's idle subsystems (position ticks are not one).
IDLE = {"player": "player", "playlist": "playlist", "mixer": "mixer", "options": "options", "rating": "sticker"}
BEFORE_PASSWORD = ("password", "ping", "commands", "notcommands")

def configured(home: Path) -> tuple[str, int, str] | None:
    """(host, port, password) from ``[mpd]`` in config.toml, None when the frontend is off;
    ``ConfigError`` when it would listen beyond this machine without a password."""
    config = load_config(home)
    if not config.mpd_listen:
        return None
    host, port = split_address(config.mpd_listen)
    if not config.mpd_password and not loopback(host):
        raise ConfigError(
            f"MPD on {config.mpd_listen} needs a password: anyone who can reach it could control the music "
            f"(set [mpd] password in {config_path(home)}, or listen on 127.0.0.1)"
        )
    return host, port, config.mpd_password


def loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name may resolve to anything: treat it as the network


async def start(controller: Controller, host: str, port: int, password: str) -> Frontend:
    frontend = Frontend(controller, password)
    await frontend.reload()
    try:
        frontend.server = await asyncio.start_server(frontend.serve, host, port, limit=MAX_LINE)
    except OSError as exc:
        frontend.close()
        raise ConfigError(f"cannot listen for MPD clients on {host}:{port}: {exc.strerror or exc}") from None
    log.info(f"MPD clients welcome on {host}:{port}" + (" (password set)" if password else ""))
    return frontend


def _catalog_rows(home: Path) -> list[dict]:
    try:
        return store.catalog_rows(home)
    except store.StoreError as exc:
        log.warning(f"MPD clients see no library: {exc}")
        return []


def split(line: str) -> list[str]:
    """MPD's argument syntax: words, or double-quoted strings with backslash escapes."""
    words, at, end = [], 0, len(line)
    while True:
        while at < end and line[at] in " \t":
            at += 1
        if at >= end:
            return words
        if line[at] != '"':
            start = at
            while at < end and line[at] not in " \t":
                at += 1
            words.append(line[start:at])
            continue
        at, chars = at + 1, []
        while True:
            if at >= end:
                raise Ack(ARG, "missing closing '\"'")
            if line[at] == "\\" and at + 1 < end:
                chars.append(line[at + 1])
                at += 2
            elif line[at] == '"':
                at += 1
                break
            else:
                chars.append(line[at])
                at += 1
        if at < end and line[at] not in " \t":
            raise Ack(ARG, "space expected after closing '\"'")
        words.append("".join(chars))


def _one_line(value: object) -> str:
    return " ".join(str(value).split()) if isinstance(value, str) else str(value)


def lines(pairs: list[tuple[str, object]]) -> str:
    return "".join(f"{key}: {_one_line(value)}\n" for key, value in pairs)


def ack(code: int, index: int, command: str, message: str) -> str:
    command = "".join(c for c in command[:40] if c.isprintable() and c not in "{}")
    return f"ACK [{code}@{index}] {{{command}}} {_one_line(message)}\n"


class Frontend:
    """The MPD listener, its clients and what they share: the catalog and the rating stickers."""

    def __init__(self, controller: Controller, password: str) -> None:
        self.controller = controller
        self.password = password
        self.server: asyncio.Server | None = None
        self.sessions: set[Session] = set()
        self.started = time.monotonic()
        self.stickers: dict[str, tuple[int, str | None]] = {}  # path → (0–10, id of its rating line)
        self.catalog, self.updated = Catalog([]), 0
        controller.listeners.add(self.announce)

    async def reload(self) -> None:
        """Read the library's tags and latest ratings (at start and on ``update``)."""
        rows = await asyncio.to_thread(_catalog_rows, self.controller.home)
        self.catalog, self.updated = Catalog(rows), int(time.time())
        for row in rows:
            if row["last_rating"] and row["path"] not in self.stickers:
                self.stickers[row["path"]] = (int(row["last_rating"]) * 2, None)

    def close(self) -> None:
        self.controller.listeners.discard(self.announce)
        if self.server is not None:
            self.server.close()
        for session in list(self.sessions):
            session.writer.close()

    def announce(self, subsystem: str, data: object) -> None:
        if subsystem == "rating" and isinstance(data, dict):
            self._rated(data)
        if subsystem in IDLE:
            self.announce_idle(IDLE[subsystem])

    def announce_idle(self, name: str) -> None:
        for session in list(self.sessions):
            session.changed(name)

    def _rated(self, line: dict) -> None:
        """Any client's rating moves the sticker; an undo of a rating removes it."""
        path = line.get("track_path")
        if line.get("event") == "rating" and isinstance(line.get("rating"), int):
            self.stickers[path] = (line["rating"] * 2, line.get("id"))
        elif line.get("event") == "undo" and not (line.get("fix") or {}).get("parameter"):
            self.stickers.pop(path, None)

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if len(self.sessions) >= MAX_CLIENTS:
            writer.write(ack(SYSTEM, 0, "", "too many clients").encode())
            writer.close()
            return
        session = Session(self, writer)
        self.sessions.add(session)
        session.write(f"OK MPD {VERSION}\n")
        try:
            while True:
                try:
                    line = await read_line(reader)
                except TooLong:
                    session.batch = None
                    session.write(ack(ARG, 0, "", f"a command line is at most {MAX_LINE} bytes; ignored"))
                    continue
                if line is None or not await session.handle(line.rstrip(b"\r\n")):
                    break
                await writer.drain()
        except (ConnectionError, OSError):
            pass  # gone mid-command: only this connection ends
        finally:
            self.sessions.discard(session)
            writer.close()


class Session(Commands):
    """One MPD client: its password state, command list in progress and idle wait."""

    def __init__(self, frontend: Frontend, writer: asyncio.StreamWriter) -> None:
        self.frontend = frontend
        self.c = frontend.controller
        self.writer = writer
        self.allowed = not frontend.password
        self.pending: set[str] = set()  # subsystems changed since the last idle answer
        self.idle: set[str] | None = None  # what an ``idle`` in progress waits for
        self.batch: list[str] | None = None
        self.batch_ok = False

    def write(self, text: str) -> None:
        if not self.writer.is_closing():
            self.writer.write(text.encode())

    def changed(self, subsystem: str) -> None:
        self.pending.add(subsystem)
        if self.idle is not None and self.pending & self.idle:
            self._wake()

    def _wake(self) -> None:
        hits = sorted(self.pending & self.idle)
        self.pending -= set(hits)
        self.idle = None
        self.write(lines([("changed", name) for name in hits]) + "OK\n")

    async def handle(self, raw: bytes) -> bool:
        """Answer one line; False when the connection is to close."""
        try:
            line = raw.decode()
        except UnicodeDecodeError:
            self.write(ack(ARG, 0, "", "a command line is UTF-8"))
            return True
        if self.idle is not None:  # only noidle may follow idle (as MPD: anything else closes)
            if line.strip() != "noidle":
                return False
            self.idle = None
            self.write("OK\n")
            return True
        if self.batch is not None:
            if line == "command_list_end":
                batch, self.batch = self.batch, None
                self.write(await self.run_list(batch, self.batch_ok))
            elif len(self.batch) >= MAX_LIST:
                self.batch = None
                self.write(ack(ARG, MAX_LIST, "", f"a command list holds at most {MAX_LIST} commands"))
            else:
                self.batch.append(line)
            return True
        if line in ("command_list_begin", "command_list_ok_begin"):
            self.batch, self.batch_ok = [], line == "command_list_ok_begin"
            return True
        if line.strip() == "noidle":
            return True  # no idle to end: nothing to answer
        if line.strip() == "close":
            return False
        if line.split(None, 1)[:1] == ["idle"]:
            self.start_idle(line)
            return True
        text, failed = await self.execute(line, 0)
        self.write(text if failed else text + "OK\n")
        return True

    def start_idle(self, line: str) -> None:
        try:
            names = split(line)[1:]
            unknown = [name for name in names if name not in SUBSYSTEMS]
            if unknown:
                raise Ack(ARG, f"Unrecognized idle event: {unknown[0][:40]}")
            if not self.allowed:
                raise Ack(PERMISSION, 'you don\'t have permission for "idle"')
        except Ack as exc:
            self.write(ack(exc.code, 0, "idle", str(exc)))
            return
        self.idle = set(names or SUBSYSTEMS)
        if self.pending & self.idle:
            self._wake()

    async def run_list(self, batch: list[str], ok: bool) -> str:
        out = []
        for index, line in enumerate(batch):
            text, failed = await self.execute(line, index)
            out.append(text)
            if failed:
                return "".join(out)
            if ok:
                out.append("list_OK\n")
        return "".join(out) + "OK\n"

    async def execute(self, line: str, index: int) -> tuple[str, bool]:
        """One command's answer (without the closing OK) and whether it failed."""
        name = ""
        try:
            words = split(line)
            if not words:
                raise Ack(UNKNOWN, "No command given")
            name, args = words[0], words[1:]
            if not self.allowed and name not in BEFORE_PASSWORD:
                raise Ack(PERMISSION, f'you don\'t have permission for "{name[:40]}"')
            command = COMMANDS.get(name)
            if command is None:
                if name in ("idle", "noidle", "close", "command_list_begin", "command_list_ok_begin"):
                    raise Ack(ARG, f"{name} is not allowed in a command list")
                raise Ack(UNKNOWN, f'unknown command "{name[:40]}"')
            method, least, most = command
            if not least <= len(args) <= most:
                raise Ack(ARG, f'wrong number of arguments for "{name}"')
            result = getattr(self, method)(*args)
            if asyncio.iscoroutine(result):
                result = await result
            return lines(result or []), False
        except Ack as exc:
            return ack(exc.code, index, name, str(exc)), True
        except (QueueError, FilterError, ProtocolError, feedback.FeedbackError) as exc:
            return ack(ARG, index, name, str(exc)), True
        except Refusal as exc:
            return ack(PLAYER_SYNC, index, name, str(exc)), True
        except Exception as exc:  # a bug must not take the music down: say so, log it, carry on
            log.exception(f"MPD {name[:40]!r} failed")
            return ack(SYSTEM, index, name, f"internal error: {exc!r}"[:200]), True
