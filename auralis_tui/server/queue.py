"""The play queue: tracks with stable ids, the play modes, and the order they imply.

Ids never change while an item stays queued (MPD's song ids), so the player can hold on to the
track it plays while the queue is edited around it. ``following`` and ``preceding`` make the queue
a ``player.Playlist``; they only read, so asking twice gives the same answer until the queue changes.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path

MODES = ("repeat", "random", "single", "consume")


class QueueError(ValueError):
    """A queue request that names no item or position; the message says which."""


@dataclass(frozen=True)
class Item:
    id: int
    path: Path


@dataclass
class Queue:
    items: list[Item] = field(default_factory=list)
    modes: dict[str, bool] = field(default_factory=lambda: dict.fromkeys(MODES, False))
    next_id: int = 1
    version: int = 0  # bumped by every change (the playlist's version for clients)
    order: list[int] = field(default_factory=list)  # play order of the ids while random is on
    # id → index in ``items`` and in the play sequence, built on first need after a change: a
    # status or a track change must not scan a queue of 100,000 tracks
    _index: dict[int, int] | None = field(default=None, init=False, repr=False, compare=False)
    _rank: dict[int, int] | None = field(default=None, init=False, repr=False, compare=False)

    # --- reading -------------------------------------------------------------------------------

    def ids(self) -> list[int]:
        return [item.id for item in self.items]

    def position(self, item_id: int) -> int | None:
        if self._index is None:
            self._index = {item.id: n for n, item in enumerate(self.items)}
        return self._index.get(item_id)

    def path_of(self, item_id: int) -> Path | None:
        at = self.position(item_id) if isinstance(item_id, int) else None
        return None if at is None else self.items[at].path

    def at(self, position: int) -> Item:
        if not 0 <= position < len(self.items):
            raise QueueError(f"no position {position + 1} in a queue of {len(self.items)}")
        return self.items[position]

    def _sequence(self) -> list[int]:
        return self.order if self.modes["random"] else self.ids()

    def _place(self, item_id: int) -> int | None:
        """Where ``item_id`` is in the play sequence (None: not queued)."""
        if not self.modes["random"]:
            return self.position(item_id)
        if self._rank is None:
            self._rank = {item: n for n, item in enumerate(self.order)}
        return self._rank.get(item_id)

    def following(self, item_id: int, skip: bool = False) -> int | None:
        """The id played after ``item_id`` ends, by the modes (None: stop there); with ``skip``
        the one *next* goes to (single mode only holds when a track ends by itself)."""
        place = self._place(item_id) if isinstance(item_id, int) else None
        if place is None:
            return None
        if self.modes["single"] and not skip:
            return item_id if self.modes["repeat"] else None
        if place + 1 < len(self.items):
            return self._at_place(place + 1)
        return self._at_place(0) if self.modes["repeat"] else None

    def preceding(self, item_id: int) -> int | None:
        place = self._place(item_id) if isinstance(item_id, int) else None
        if place is None:
            return None
        if place > 0:
            return self._at_place(place - 1)
        return self._at_place(len(self.items) - 1 if self.modes["repeat"] else 0)

    def first(self) -> int | None:
        return self._at_place(0)

    def _at_place(self, place: int) -> int | None:
        """The id at ``place`` in the play sequence (None past its end)."""
        if not 0 <= place < len(self.items):
            return None
        return self.order[place] if self.modes["random"] else self.items[place].id

    def snapshot(self) -> Queue:
        """A copy for the player's thread: it reads while the server edits the original."""
        return Queue(list(self.items), dict(self.modes), self.next_id, self.version, list(self.order))

    # --- changing ------------------------------------------------------------------------------

    def add(self, paths: list[Path], at: int | None = None) -> list[int]:
        """Queue ``paths`` at position ``at`` (default: the end); returns their ids."""
        at = len(self.items) if at is None else at
        if not 0 <= at <= len(self.items):
            raise QueueError(f"no position {at + 1} to insert at in a queue of {len(self.items)}")
        new = [Item(self.next_id + n, p if isinstance(p, Path) else Path(p)) for n, p in enumerate(paths)]
        self.next_id += len(new)
        self.items[at:at] = new
        self._scatter([item.id for item in new])
        self._changed()
        return [item.id for item in new]

    def remove(self, item_id: int) -> None:
        at = self.position(item_id)
        if at is None:
            raise QueueError(f"no item with id {item_id} in the queue")
        del self.items[at]
        self.order.remove(item_id)
        self._changed()

    def move(self, source: int, target: int) -> None:
        """Move the item at position ``source`` to position ``target`` (both 0-based)."""
        item = self.at(source)
        if not 0 <= target < len(self.items):
            raise QueueError(f"no position {target + 1} in a queue of {len(self.items)}")
        del self.items[source]
        self.items.insert(target, item)
        self._changed()

    def clear(self) -> None:
        self.items.clear()
        self.order.clear()
        self._changed()

    def set_mode(self, mode: str, on: bool, current: int | None = None) -> None:
        """Turn a mode on or off; random draws a new order that starts with ``current``."""
        if mode not in MODES:
            raise QueueError(f"a mode is one of {', '.join(MODES)}, not {mode!r}")
        self.modes[mode] = bool(on)
        if mode == "random" and on:
            self.shuffle(current)
        self._changed()

    def shuffle(self, current: int | None = None) -> None:
        rest = [i for i in self.ids() if i != current]
        random.shuffle(rest)
        self.order = ([current] if current in self.ids() else []) + rest
        self._rank = None

    def _scatter(self, ids: list[int]) -> None:
        """Random order: each new id lands somewhere in the later half of it (one merge, not one
        list insert per id: queueing a whole library stays linear)."""
        half = len(self.order) // 2
        slots = sorted(random.randint(half, len(self.order)) for _ in ids)
        merged, taken = [], 0
        for slot, new in zip(slots, ids, strict=True):
            merged += self.order[taken:slot]
            merged.append(new)
            taken = slot
        self.order = merged + self.order[taken:]

    def _changed(self) -> None:
        self.version += 1
        self._index = self._rank = None

    # --- on disk (the server writes it atomically; see state.py) -------------------------------

    def to_dict(self) -> dict:
        return {
            "items": [{"id": item.id, "path": str(item.path)} for item in self.items],
            "modes": dict(self.modes),
            "next_id": self.next_id,
            "order": list(self.order),
        }

    @classmethod
    def from_dict(cls, data: dict) -> Queue:
        items = [Item(int(entry["id"]), Path(entry["path"])) for entry in data.get("items", [])]
        ids = {item.id for item in items}
        modes = dict.fromkeys(MODES, False) | {m: bool(v) for m, v in data.get("modes", {}).items() if m in MODES}
        order = [i for i in data.get("order", []) if i in ids]
        order += [item.id for item in items if item.id not in order]
        next_id = max([int(data.get("next_id", 1)), *(i + 1 for i in ids)])
        return cls(items, modes, next_id, 0, order)
