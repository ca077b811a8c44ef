"""What each MPD command does, in terms of the server's ``Controller`` and the catalog: the
``Commands`` half of an MPD session (``mpd.Session`` adds the connection, command lists and idle).
Each handler takes the command's arguments as strings and returns ``(key, value)`` pairs, or
raises ``Ack`` (one ``ACK`` line to the client)."""

from __future__ import annotations

import asyncio
import hmac
import time

from .. import rating
from .catalog import TAGS, Song, tag_name

STATE = {"playing": "play", "paused": "pause", "stopped": "stop"}

# ACK error codes (MPD's Ack.hxx)
ARG, PASSWORD, PERMISSION, UNKNOWN, NO_EXIST, SYSTEM, PLAYER_SYNC = 2, 3, 4, 5, 50, 52, 55


class Ack(Exception):
    """A command MPD would refuse: answered with one ``ACK`` line, the connection stays open."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


def stars(value: int) -> int:
    """MPD clients' 0–10 rating → Auralis stars (see mpd.py's docstring)."""
    return min(5, max(1, (value + 1) // 2))


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



class Commands:
    """The command handlers of a session (``self.c`` the controller, ``self.frontend`` the shared state)."""

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

    async def _add(self, songs: list[Song], pos: str | None = None) -> list[int]:
        if not songs:
            return []
        args = {"paths": [song.path for song in songs]}
        if pos is not None:
            args["pos"] = self._position(pos)
        return (await self.c.add(args))["ids"]

    async def add(self, uri: str, pos: str | None = None):
        songs = self.frontend.catalog.under(uri)
        if not songs:
            raise Ack(NO_EXIST, "No such directory or song in the library")
        await self._add(songs, pos)

    async def addid(self, uri: str, pos: str | None = None):
        song = self.frontend.catalog.song(uri)
        if song is None:
            raise Ack(NO_EXIST, "No such song in the library")
        return [("Id", (await self._add([song], pos))[0])]

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

    async def findadd(self, *args: str):
        await self._add(self._select(args, exact=True))

    async def searchadd(self, *args: str):
        await self._add(self._select(args, exact=False))

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
