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
import hmac
import ipaddress
import logging
import time
from pathlib import Path

from .. import feedback, rating, store
from ..config import ConfigError, config_path, load_config, split_address
from .catalog import TAGS, Catalog, FilterError, Song, tag_name
from .controller import Controller, Refusal
from .daemon import TooLong, read_line
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
STATE = {"playing": "play", "paused": "pause", "stopped": "stop"}
BEFORE_PASSWORD = ("password", "ping", "commands", "notcommands")

# ACK error codes (MPD's Ack.hxx)
ARG, PASSWORD, PERMISSION, UNKNOWN, NO_EXIST, SYSTEM, PLAYER_SYNC = 2, 3, 4, 5, 50, 52, 55


class Ack(Exception):
    """A command MPD would refuse: answered with one ``ACK`` line, the connection stays open."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


def stars(value: int) -> int:
    """MPD clients' 0–10 rating → Auralis stars (see the module docstring)."""
    return min(5, max(1, (value + 1) // 2))


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


def integer(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise Ack(ARG, f"Integer expected: {text[:40]}") from None


def seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if value != value or abs(value) == float("inf"):
        raise Ack(ARG, f"Number expected: {text[:40]}")
    return value


def boolean(text: str) -> bool:
    if text not in ("0", "1"):
        raise Ack(ARG, f"Boolean (0/1) expected: {text[:40]}")
    return text == "1"


def span(text: str, length: int) -> range:
    """``N`` or ``START:END`` (END may be left out) as positions of a list of ``length``."""
    first, colon, last = text.partition(":")
    start = integer(first)
    stop = (integer(last) if last else length) if colon else start + 1
    if not 0 <= start < min(stop, length):
        raise Ack(ARG, "Bad song index")
    return range(start, min(stop, length))


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


class Session:
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

    # --- status --------------------------------------------------------------------------------

    def status(self):
        now, queue = self.c.status(), self.c.queue
        modes = now["modes"]
        out = [
            ("volume", now["volume"]),
            *((mode, int(modes[mode])) for mode in ("repeat", "random", "single", "consume")),
            ("partition", "default"), ("playlist", queue.version + 1), ("playlistlength", len(queue.items)),
            ("mixrampdb", "0.000000"), ("state", STATE.get(now["state"], "stop")),
        ]  # fmt: skip
        if now["id"] is not None and now["pos"] is not None:
            out += [("song", now["pos"]), ("songid", now["id"])]
            if now["state"] != "stopped":
                elapsed, total = now["position"], now["duration"]
                out += [("time", f"{int(elapsed)}:{round(total)}"), ("elapsed", f"{elapsed:.3f}"),
                        ("duration", f"{total:.3f}")]  # fmt: skip
            following = queue.following(now["id"])
            if following is not None:
                out += [("nextsong", queue.position(following)), ("nextsongid", following)]
        if now["message"]:
            out.append(("error", now["message"]))
        return out

    def currentsong(self):
        now = self.c.status()
        if now["id"] is None or now["pos"] is None:
            return []
        return self.item(now["pos"])

    def item(self, pos: int):
        entry = self.c.queue.items[pos]
        song = self.frontend.catalog.by_path.get(str(entry.path))
        shown = song.lines() if song else [("file", self.frontend.catalog.uri_of(entry.path)),
                                           ("Title", self.c.title_of(entry.path))]  # fmt: skip
        return [*shown, ("Pos", pos), ("Id", entry.id)]

    def stats(self):
        songs = self.frontend.catalog.songs
        return [
            ("artists", len({s.tag("Artist") for s in songs} - {""})),
            ("albums", len({s.tag("Album") for s in songs} - {""})), ("songs", len(songs)),
            ("uptime", int(time.monotonic() - self.frontend.started)), ("playtime", 0),
            ("db_playtime", int(sum(s.duration or 0 for s in songs))), ("db_update", self.frontend.updated),
        ]  # fmt: skip

    def outputs(self):
        return [("outputid", 0), ("outputname", "Auralis"), ("plugin", "portaudio"),
                ("outputenabled", int(self.c.player is not None))]  # fmt: skip

    def commands(self):
        return [("command", name) for name in sorted(COMMANDS)]

    def tagtypes(self, *_args):
        return [] if _args else [("tagtype", name) for name in TAGS]

    def nothing(self, *_args):
        return []

    def password(self, given: str):
        if not self.frontend.password or not hmac.compare_digest(given.encode(), self.frontend.password.encode()):
            raise Ack(PASSWORD, "incorrect password")
        self.allowed = True

    def replay_gain_status(self):
        return [("replay_gain_mode", "off")]

    # --- playback ------------------------------------------------------------------------------

    def play(self, pos: str | None = None):
        self.c.play({} if pos is None or integer(pos) < 0 else {"pos": integer(pos)})

    def playid(self, item_id: str | None = None):
        self.c.play({} if item_id is None or integer(item_id) < 0 else {"id": integer(item_id)})

    def pause(self, on: str | None = None):
        self.c.toggle({}) if on is None else self.c.pause({"on": boolean(on)})

    def stop(self):
        self.c.stop({})

    def next(self):
        self.c.next({})

    def previous(self):
        self.c.previous({})

    def seek(self, pos: str, to: str):
        self._seek_item(self.c.queue.at(integer(pos)).id, seconds(to))

    def seekid(self, item_id: str, to: str):
        if self.c.queue.path_of(integer(item_id)) is None:
            raise Ack(NO_EXIST, "No such song")
        self._seek_item(integer(item_id), seconds(to))

    def _seek_item(self, item_id: int, to: float):
        now = self.c.status()
        if now["id"] == item_id and now["state"] != "stopped":
            self.c.seek({"seconds": to})
        else:
            self.c.play({"id": item_id, "seconds": max(0.0, to)})

    def seekcur(self, to: str):
        self.c.seek({"seconds": seconds(to), "relative": to[:1] in "+-"})

    def setvol(self, value: str):
        volume = integer(value)
        if not 0 <= volume <= 100:
            raise Ack(ARG, "Invalid volume value")
        self.c.set_volume({"value": volume})

    def volume(self, step: str):
        self.c.set_volume({"value": integer(step), "relative": True})

    def getvol(self):
        return [("volume", self.c.volume)]

    def _mode(self, mode: str, on: str):
        self.c.set_mode({"mode": mode, "on": boolean(on)})

    def repeat(self, on: str):
        self._mode("repeat", on)

    def random(self, on: str):
        self._mode("random", on)

    def single(self, on: str):
        self._mode("single", on)

    def consume(self, on: str):
        self._mode("consume", on)

    # --- the queue -----------------------------------------------------------------------------

    def _position(self, text: str) -> int:
        """An insert position: absolute, or ``+N``/``-N`` after/before the current song."""
        if text[:1] not in "+-":
            return integer(text)
        here = self.c.status()["pos"]
        if here is None:
            raise Ack(ARG, "No current song")
        return here + 1 + integer(text[1:]) if text[0] == "+" else here - integer(text[1:])

    def _add(self, songs: list[Song], pos: str | None = None) -> list[int]:
        if not songs:
            return []
        args = {"paths": [song.path for song in songs]}
        if pos is not None:
            args["pos"] = self._position(pos)
        return self.c.add(args)["ids"]

    def add(self, uri: str, pos: str | None = None):
        songs = self.frontend.catalog.under(uri)
        if not songs:
            raise Ack(NO_EXIST, "No such directory or song in the library")
        self._add(songs, pos)

    def addid(self, uri: str, pos: str | None = None):
        song = self.frontend.catalog.song(uri)
        if song is None:
            raise Ack(NO_EXIST, "No such song in the library")
        return [("Id", self._add([song], pos)[0])]

    def clear(self):
        self.c.clear({})

    def delete(self, which: str):
        items = self.c.queue.items
        for item_id in [items[n].id for n in span(which, len(items))]:
            self.c.remove({"id": item_id})

    def deleteid(self, item_id: str):
        self.c.remove({"id": integer(item_id)})

    def move(self, which: str, to: str):
        items = self.c.queue.items
        block, target = span(which, len(items)), integer(to)
        if not 0 <= target <= len(items) - len(block):
            raise Ack(ARG, "Bad song index")
        ids = [items[n].id for n in block]
        steps = list(enumerate(ids))  # moving right: the last first, so the others keep their places
        for k, item_id in reversed(steps) if target > block.start else steps:
            self.c.move({"source": self.c.queue.position(item_id), "target": target + k})

    def moveid(self, item_id: str, to: str):
        pos = self.c.queue.position(integer(item_id))
        if pos is None:
            raise Ack(NO_EXIST, "No such song")
        self.c.move({"source": pos, "target": integer(to)})

    def playlistinfo(self, which: str | None = None):
        count = len(self.c.queue.items)
        positions = range(count) if which is None else span(which, count)
        return [pair for pos in positions for pair in self.item(pos)]

    def playlistid(self, item_id: str | None = None):
        if item_id is None:
            return self.playlistinfo()
        pos = self.c.queue.position(integer(item_id))
        if pos is None:
            raise Ack(NO_EXIST, "No such song")
        return self.item(pos)

    def plchanges(self, version: str, which: str | None = None):
        """Everything when the client's version is not the current one (a superset of the changes)."""
        return [] if integer(version) == self.c.queue.version + 1 else self.playlistinfo(which)

    def plchangesposid(self, version: str, which: str | None = None):
        if integer(version) == self.c.queue.version + 1:
            return []
        count = len(self.c.queue.items)
        positions = range(count) if which is None else span(which, count)
        return [pair for pos in positions for pair in (("cpos", pos), ("Id", self.c.queue.items[pos].id))]

    # --- the library ---------------------------------------------------------------------------

    def lsinfo(self, uri: str = ""):
        return self._listing(uri, recursive=False, info=True)

    def listall(self, uri: str = ""):
        return self._listing(uri, recursive=True, info=False)

    def listallinfo(self, uri: str = ""):
        return self._listing(uri, recursive=True, info=True)

    def _listing(self, uri: str, recursive: bool, info: bool):
        catalog = self.frontend.catalog
        song = catalog.song(uri)
        entries = [song] if song else catalog.listing(uri, recursive)
        if entries is None:
            raise Ack(NO_EXIST, "No such directory")
        out = []
        for entry in entries:
            if isinstance(entry, str):
                out.append(("directory", entry))
            else:
                out += entry.lines() if info else [("file", entry.uri)]
        return out

    def _select(self, args: tuple[str, ...], exact: bool) -> list[Song]:
        songs, rest = self.frontend.catalog.matching(list(args), exact)
        while rest:
            if len(rest) < 2 or rest[0].lower() not in ("sort", "window"):
                raise Ack(ARG, f"unknown argument {rest[0][:40]!r}")
            key, value = rest.pop(0).lower(), rest.pop(0)
            if key == "sort":
                tag = tag_name(value.lstrip("-"))
                songs = sorted(songs, key=lambda s: s.tag(tag), reverse=value.startswith("-"))
            else:
                songs = songs[span(value, 1 << 30).start : span(value, 1 << 30).stop]
        return songs

    def find(self, *args: str):
        return [pair for song in self._select(args, exact=True) for pair in song.lines()]

    def search(self, *args: str):
        return [pair for song in self._select(args, exact=False) for pair in song.lines()]

    def findadd(self, *args: str):
        self._add(self._select(args, exact=True))

    def searchadd(self, *args: str):
        self._add(self._select(args, exact=False))

    def _grouped(self, args: tuple[str, ...]) -> tuple[list[Song], list[str]]:
        args, groups = list(args), []
        while len(args) >= 2 and args[-2].lower() == "group":
            groups.insert(0, tag_name(args[-1]))
            del args[-2:]
        return self._select(tuple(args), exact=True), groups

    def count(self, *args: str):
        songs, groups = self._grouped(args)
        buckets: dict[tuple, list[Song]] = {}
        for song in songs:
            buckets.setdefault(tuple(song.tag(g) for g in groups), []).append(song)
        out = []
        for key, members in sorted(buckets.items()):
            out += [*zip(groups, key, strict=True), ("songs", len(members)),
                    ("playtime", int(sum(s.duration or 0 for s in members)))]  # fmt: skip
        return out or [("songs", 0), ("playtime", 0)]

    def list(self, kind: str, *args: str):
        if len(args) == 1 and kind.lower() == "album":  # the old `list album ARTIST`
            args = ("artist", args[0])
        songs, groups = self._grouped(args)
        if kind.lower() == "file":
            return [("file", song.uri) for song in songs]
        tag = tag_name(kind)
        seen = sorted({(*(s.tag(g) for g in groups), s.tag(tag)) for s in songs})
        out, last = [], None
        for row in seen:
            if row[-1] == "":
                continue
            if row[:-1] != last:
                out += list(zip(groups, row[:-1], strict=True))
                last = row[:-1]
            out.append((tag, row[-1]))
        return out

    async def update(self, _uri: str | None = None):
        """Read the library again from the database (``auralis scan`` fills it)."""
        self.frontend.announce_idle("update")
        await asyncio.to_thread(self.c.load_library)
        await self.frontend.reload()
        self.frontend.announce_idle("database")
        return [("updating_db", 1)]

    # --- stickers: the rating ------------------------------------------------------------------

    def _track(self, uri: str) -> str:
        song = self.frontend.catalog.song(uri)
        if song is not None:
            return song.path
        for item in self.c.queue.items:  # a queued file outside the library
            if self.frontend.catalog.uri_of(item.path) == uri.removeprefix("file://"):
                return str(item.path)
        raise Ack(NO_EXIST, "No such song")

    def _value(self, path: str) -> int:
        known = self.frontend.stickers.get(path)
        if known is None:
            raise Ack(NO_EXIST, "no such sticker")
        return known[0]

    async def sticker(self, action: str, domain: str, uri: str, *rest: str):
        if domain != "song":
            raise Ack(ARG, "unknown sticker domain (Auralis keeps song stickers)")
        if rest[:1] not in ((), ("rating",)):
            raise Ack(NO_EXIST, "no such sticker (Auralis keeps the rating sticker only)")
        wanted = {"get": 1, "set": 2, "delete": (0, 1), "list": 0, "find": (1, 3)}.get(action)
        if wanted is None or len(rest) not in (wanted if isinstance(wanted, tuple) else (wanted,)):
            raise Ack(ARG, f"bad sticker command {action[:20]!r}")
        if action == "find":
            return self._sticker_find(uri, rest[1:])
        path = self._track(uri)
        if action == "get":
            return [("sticker", f"rating={self._value(path)}")]
        if action == "list":
            known = self.frontend.stickers.get(path)
            return [] if known is None else [("sticker", f"rating={known[0]}")]
        if action == "set":
            value = integer(rest[1])
            if not 0 <= value <= 10:
                raise Ack(ARG, "a rating sticker is a whole number from 0 to 10")
            await self._rate(path, value)
            return []
        await self._withdraw(path)
        return []

    async def _rate(self, path: str, value: int) -> None:
        args = {"rating": stars(value), "path": path}
        if self.c.status()["path"] != path:
            args["heard"] = "mastered"  # not playing: what it would sound like here
        written = await self.c.record(args)
        self.frontend.stickers[path] = (value, written["line"]["id"])

    async def _withdraw(self, path: str) -> None:
        self._value(path)
        rating_id = self.frontend.stickers[path][1]
        if rating_id is None:
            rating_id = await asyncio.to_thread(rating.latest_rating_id, self.c.home, path)
        if rating_id is None:
            self.frontend.stickers.pop(path, None)
            raise Ack(NO_EXIST, "no such sticker")
        await self.c.record({"event": "undo", "path": path, "refers_to": rating_id})

    def _sticker_find(self, uri: str, condition: tuple[str, ...]):
        catalog = self.frontend.catalog
        if catalog.folder(uri) is None and catalog.song(uri) is None:
            raise Ack(NO_EXIST, "No such directory")
        test = lambda value: True  # noqa: E731
        if condition:
            op, limit = condition[0], integer(condition[1])
            if op not in ("=", "<", ">"):
                raise Ack(ARG, f"bad sticker operator {op[:10]!r}")
            test = {"=": lambda v: v == limit, "<": lambda v: v < limit, ">": lambda v: v > limit}[op]
        out = []
        for song in catalog.under(uri):
            known = self.frontend.stickers.get(song.path)
            if known is not None and test(known[0]):
                out += [("file", song.uri), ("sticker", f"rating={known[0]}")]
        return out


#: command → (Session method, least, most arguments)
COMMANDS: dict[str, tuple[str, int, int]] = {
    "status": ("status", 0, 0), "currentsong": ("currentsong", 0, 0), "stats": ("stats", 0, 0),
    "ping": ("nothing", 0, 0), "password": ("password", 1, 1), "commands": ("commands", 0, 0),
    "notcommands": ("nothing", 0, 0), "tagtypes": ("tagtypes", 0, 99), "urlhandlers": ("nothing", 0, 0),
    "decoders": ("nothing", 0, 0), "outputs": ("outputs", 0, 0), "listplaylists": ("nothing", 0, 0),
    "replay_gain_status": ("replay_gain_status", 0, 0), "binarylimit": ("nothing", 1, 1),
    "play": ("play", 0, 1), "playid": ("playid", 0, 1), "pause": ("pause", 0, 1), "stop": ("stop", 0, 0),
    "next": ("next", 0, 0), "previous": ("previous", 0, 0), "seek": ("seek", 2, 2), "seekid": ("seekid", 2, 2),
    "seekcur": ("seekcur", 1, 1), "setvol": ("setvol", 1, 1), "volume": ("volume", 1, 1), "getvol": ("getvol", 0, 0),
    "repeat": ("repeat", 1, 1), "random": ("random", 1, 1), "single": ("single", 1, 1), "consume": ("consume", 1, 1),
    "add": ("add", 1, 2), "addid": ("addid", 1, 2), "clear": ("clear", 0, 0), "delete": ("delete", 1, 1),
    "deleteid": ("deleteid", 1, 1), "move": ("move", 2, 2), "moveid": ("moveid", 2, 2),
    "playlistinfo": ("playlistinfo", 0, 1), "playlistid": ("playlistid", 0, 1), "plchanges": ("plchanges", 1, 2),
    "plchangesposid": ("plchangesposid", 1, 2), "lsinfo": ("lsinfo", 0, 1), "listall": ("listall", 0, 1),
    "listallinfo": ("listallinfo", 0, 1), "find": ("find", 1, 99), "search": ("search", 1, 99),
    "findadd": ("findadd", 1, 99), "searchadd": ("searchadd", 1, 99), "count": ("count", 0, 99),
    "list": ("list", 1, 99), "update": ("update", 0, 1), "rescan": ("update", 0, 1), "sticker": ("sticker", 3, 6),
}  # fmt: skip
