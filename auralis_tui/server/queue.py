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

    # --- reading -------------------------------------------------------------------------------

    def ids(self) -> list[int]:
        return [item.id for item in self.items]

    def position(self, item_id: int) -> int | None:
        return next((n for n, item in enumerate(self.items) if item.id == item_id), None)

    def path_of(self, item_id: int) -> Path | None:
        at = self.position(item_id) if isinstance(item_id, int) else None
        return None if at is None else self.items[at].path

    def at(self, position: int) -> Item:
        if not 0 <= position < len(self.items):
            raise QueueError(f"no position {position + 1} in a queue of {len(self.items)}")
        return self.items[position]

    def _sequence(self) -> list[int]:
        return self.order if self.modes["random"] else self.ids()

    def following(self, item_id: int, skip: bool = False) -> int | None:
        """The id played after ``item_id`` ends, by the modes (None: stop there); with ``skip``
        the one *next* goes to (single mode only holds when a track ends by itself)."""
        sequence = self._sequence()
        if item_id not in sequence:
            return None
        if self.modes["single"] and not skip:
            return item_id if self.modes["repeat"] else None
        at = sequence.index(item_id) + 1
        if at < len(sequence):
            return sequence[at]
        return sequence[0] if self.modes["repeat"] else None

    def preceding(self, item_id: int) -> int | None:
        sequence = self._sequence()
        if item_id not in sequence:
            return None
        at = sequence.index(item_id) - 1
        if at >= 0:
            return sequence[at]
        return sequence[-1] if self.modes["repeat"] else sequence[0]

    def first(self) -> int | None:
        sequence = self._sequence()
        return sequence[0] if sequence else None

    def snapshot(self) -> Queue:
        """A copy for the player's thread: it reads while the server edits the original."""
        return Queue(list(self.items), dict(self.modes), self.next_id, self.version, list(self.order))

    # --- changing ------------------------------------------------------------------------------

    def add(self, paths: list[Path], at: int | None = None) -> list[int]:
        """Queue ``paths`` at position ``at`` (default: the end); returns their ids."""
        at = len(self.items) if at is None else at
        if not 0 <= at <= len(self.items):
            raise QueueError(f"no position {at + 1} to insert at in a queue of {len(self.items)}")
        new = [Item(self.next_id + n, Path(p)) for n, p in enumerate(paths)]
        self.next_id += len(new)
        self.items[at:at] = new
        for item in new:  # random: each lands somewhere in what is still to come
            self.order.insert(random.randint(len(self.order) // 2, len(self.order)), item.id)
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

    def _changed(self) -> None:
        self.version += 1

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
