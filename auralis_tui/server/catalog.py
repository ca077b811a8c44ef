"""The library as MPD clients browse it: song URIs, folders, tags, and ``find``/``search`` filters.

A song's URI is its path relative to the music folder: the library root when there is one, the
folder holding every root when there are several (their common parent). A queued file outside
that folder (``auralis queue add`` takes any file) shows by its absolute path; clients may also
name a library song by its absolute path or a ``file://`` URL.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

#: MPD tag name → the library column it shows.
TAGS = {
    "Artist": "artist", "Album": "album", "AlbumArtist": "album_artist", "Title": "title",
    "Genre": "genre", "Date": "year", "Track": "track_number", "Disc": "disc_number",
}  # fmt: skip
_BY_LOWER = {name.lower(): name for name in TAGS}


class FilterError(ValueError):
    """A find/search/list filter that is not MPD's syntax; the message says what is wrong."""


@dataclass(frozen=True, slots=True)
class Song:
    uri: str
    path: str
    tags: dict[str, str]
    duration: float | None

    def lines(self) -> list[tuple[str, object]]:
        """The song as MPD prints it: ``file``, its tags, ``Time`` and ``duration``."""
        out: list[tuple[str, object]] = [("file", self.uri), *self.tags.items()]
        if self.duration is not None:
            out += [("Time", round(self.duration)), ("duration", f"{self.duration:.3f}")]
        return out

    def tag(self, name: str) -> str:
        return self.tags.get(name, "")


@dataclass(slots=True)
class Folder:
    folders: set[str] = field(default_factory=set)
    songs: list[Song] = field(default_factory=list)


class Catalog:
    def __init__(self, rows: Iterable[dict]) -> None:
        rows = [row for row in rows if row.get("path")]
        roots = sorted({row.get("root") or str(Path(row["path"]).parent) for row in rows})
        self.base = os.path.commonpath(roots) if roots else ""
        self.songs = sorted((self._song(row) for row in rows), key=lambda song: song.uri)
        self.by_uri = {song.uri: song for song in self.songs}
        self.by_path = {song.path: song for song in self.songs}
        self.folders: dict[str, Folder] = {"": Folder()}
        for song in self.songs:
            parent = _parent(song.uri)
            self._folder(parent).songs.append(song)

    def _song(self, row: dict) -> Song:
        tags = {tag: _one_line(row[column]) for tag, column in TAGS.items() if row.get(column) not in (None, "")}
        return Song(self.uri_of(row["path"]), row["path"], tags, row.get("duration"))

    def _folder(self, uri: str) -> Folder:
        if uri not in self.folders:
            self.folders[uri] = Folder()
            self._folder(_parent(uri)).folders.add(uri)
        return self.folders[uri]

    # --- names ---------------------------------------------------------------------------------

    def uri_of(self, path: str | Path) -> str:
        path = str(path)
        if self.base and path.startswith(self.base.rstrip("/") + "/"):
            return path[len(self.base.rstrip("/")) + 1 :]
        return path

    def song(self, uri: str) -> Song | None:
        """The library song named by ``uri`` (relative URI, absolute path or ``file://`` URL)."""
        uri = uri.removeprefix("file://")
        return self.by_path.get(uri) if uri.startswith("/") else self.by_uri.get(uri)

    def folder(self, uri: str) -> str | None:
        uri = uri.strip("/")
        return uri if uri in self.folders else None

    def under(self, uri: str) -> list[Song]:
        """Every song in the folder ``uri`` and below it, or the one song it names; [] when none."""
        song = self.song(uri)
        if song is not None:
            return [song]
        folder = self.folder(uri)
        if folder is None:
            return []
        return [song for song in self.songs if _inside(song.uri, folder)]

    def listing(self, uri: str, recursive: bool) -> list[Song | str] | None:
        """What ``lsinfo`` (one level) or ``listall`` (every level) shows under a folder: folder
        URIs (str) and songs; None when ``uri`` names no folder."""
        folder = self.folder(uri)
        if folder is None:
            return None
        here = self.folders[folder]
        out: list[Song | str] = []
        for sub in sorted(here.folders):
            out.append(sub)
            if recursive:
                out += self.listing(sub, True) or []
        return out + here.songs

    # --- filters -------------------------------------------------------------------------------

    def matching(self, args: list[str], exact: bool) -> tuple[list[Song], list[str]]:
        """The songs a ``find`` (``exact``) or ``search`` filter selects, and the arguments left
        after it (``sort``, ``window``, ``group``…). A filter is MPD's expression
        ``(Artist == 'x' AND …)`` or the older ``TAG VALUE …`` pairs."""
        tests, rest = [], list(args)
        while rest and rest[0].lower() not in ("sort", "window", "group"):
            if rest[0].startswith("("):
                tests.append(Expression(rest.pop(0), exact).test)
            elif len(rest) >= 2:
                tests.append(_pair_test(rest.pop(0), rest.pop(0), exact))
            else:
                raise FilterError("a filter is pairs of TAG VALUE, or an expression in parentheses")
        return [song for song in self.songs if all(test(song) for test in tests)], rest


def _parent(uri: str) -> str:
    return uri.rpartition("/")[0] if not uri.startswith("/") else ""


def _inside(uri: str, folder: str) -> bool:
    return not folder or uri.startswith(folder + "/")


def _one_line(value: object) -> str:
    """The tag as one line (a newline would break the protocol), interned: artists, albums, genres
    and years repeat across thousands of songs."""
    return sys.intern(" ".join(str(value).split()))


def tag_name(name: str) -> str:
    """The canonical MPD tag name for ``name`` (any case); ``FilterError`` when it is not one."""
    known = _BY_LOWER.get(name.lower())
    if known is None:
        raise FilterError(f"unknown tag type {name[:40]!r}")
    return known


def _field(name: str) -> Callable[[Song], list[str]]:
    """What a filter compares for ``name``: a tag, the URI (``file``), or every tag and the URI (``any``)."""
    lower = name.lower()
    if lower == "file":
        return lambda song: [song.uri]
    if lower == "any":
        return lambda song: [song.uri, *song.tags.values()]
    tag = tag_name(name)
    return lambda song: [song.tag(tag)]


def _compare(value: str, op: str, exact: bool) -> Callable[[str], bool]:
    if op in ("=~", "!~"):
        try:
            pattern = re.compile(value, 0 if exact else re.IGNORECASE)
        except re.error as exc:
            raise FilterError(f"bad regular expression: {exc}") from None
        return lambda text: bool(pattern.search(text))
    fold = (lambda s: s) if exact else str.casefold
    wanted = fold(value)
    if op == "contains":
        return lambda text: wanted in fold(text)
    if op == "starts_with":
        return lambda text: fold(text).startswith(wanted)
    return lambda text: fold(text) == wanted


def _test(name: str, op: str, value: str, exact: bool) -> Callable[[Song], bool]:
    if name.lower() == "base":
        folder = value.strip("/")
        return lambda song: _inside(song.uri, folder)
    values, match = _field(name), _compare(value, op, exact)
    if op.startswith("!"):
        return lambda song: not any(match(v) for v in values(song))
    return lambda song: any(match(v) for v in values(song))


def _pair_test(name: str, value: str, exact: bool) -> Callable[[Song], bool]:
    """The old syntax: ``find`` wants the whole value, ``search`` a part of it in any case."""
    return _test(name, "==" if exact else "contains", value, exact)


class Expression:
    """MPD's filter expression: ``(TAG OP 'VALUE')``, ``(base 'DIR')``, ``(!EXPR)`` and
    ``(EXPR AND EXPR …)``, with OP one of ==, !=, contains, starts_with, =~, !~."""

    OPS = ("==", "!=", "=~", "!~", "contains", "starts_with")

    def __init__(self, text: str, exact: bool) -> None:
        self.text, self.at, self.exact = text, 0, exact
        self.test = self._expression()
        self._space()
        if self.at != len(self.text):
            raise FilterError("text after the end of the filter expression")

    def _space(self) -> None:
        while self.at < len(self.text) and self.text[self.at].isspace():
            self.at += 1

    def _expect(self, char: str) -> None:
        self._space()
        if not self.text.startswith(char, self.at):
            raise FilterError(f"expected {char!r} at character {self.at + 1} of the filter")
        self.at += 1

    def _word(self) -> str:
        self._space()
        start = self.at
        while self.at < len(self.text) and not self.text[self.at].isspace() and self.text[self.at] not in "()'\"":
            self.at += 1
        return self.text[start : self.at]

    def _quoted(self) -> str:
        self._space()
        if self.at >= len(self.text) or self.text[self.at] not in "'\"":
            raise FilterError("a value in a filter expression is in quotes")
        quote, out = self.text[self.at], []
        self.at += 1
        while self.at < len(self.text):
            char = self.text[self.at]
            self.at += 1
            if char == "\\" and self.at < len(self.text):
                out.append(self.text[self.at])
                self.at += 1
            elif char == quote:
                return "".join(out)
            else:
                out.append(char)
        raise FilterError("a quoted value in the filter is not closed")

    def _expression(self) -> Callable[[Song], bool]:
        self._expect("(")
        self._space()
        if self.text.startswith("!", self.at) and not self.text.startswith("!=", self.at):
            self.at += 1
            inner = self._expression()
            self._expect(")")
            return lambda song: not inner(song)
        if self.text.startswith("(", self.at):
            parts = [self._expression()]
            while self._word() == "AND":
                parts.append(self._expression())
            self._expect(")")
            return lambda song: all(part(song) for part in parts)
        name = self._word()
        if name.lower() == "base":
            test = _test(name, "==", self._quoted(), self.exact)
        else:
            op = self._word()
            if op not in self.OPS:
                raise FilterError(f"unknown filter operator {op[:20]!r}")
            test = _test(name, op, self._quoted(), self.exact)
        self._expect(")")
        return test
