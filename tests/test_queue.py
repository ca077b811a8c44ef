"""The play queue: stable ids while it is edited, and the order each play mode implies."""

from __future__ import annotations

from pathlib import Path

import pytest

from auralis_tui.server.queue import Queue, QueueError


def filled(n: int = 5) -> Queue:
    queue = Queue()
    queue.add([Path(f"/music/{k}.flac") for k in range(n)])
    return queue


def played(queue: Queue, start: int, steps: int) -> list[int]:
    order, key = [start], start
    for _ in range(steps):
        key = queue.following(key)
        if key is None:
            break
        order.append(key)
    return order


def test_ids_stay_with_their_tracks_through_edits():
    queue = filled()
    assert queue.ids() == [1, 2, 3, 4, 5]
    queue.move(0, 4)
    queue.remove(3)
    assert queue.add([Path("/music/new.flac")], at=1) == [6]
    assert queue.ids() == [2, 6, 4, 5, 1]
    assert queue.path_of(1) == Path("/music/0.flac") and queue.path_of(3) is None
    assert queue.version == 4
    with pytest.raises(QueueError, match="no position 9"):
        queue.move(8, 0)
    with pytest.raises(QueueError, match="no item with id 3"):
        queue.remove(3)


def test_plain_order_ends_repeat_wraps_single_stops_or_repeats_one():
    queue = filled(3)
    assert played(queue, 1, 5) == [1, 2, 3]
    assert queue.preceding(1) == 1  # at the start, previous replays the first
    queue.set_mode("repeat", True)
    assert played(queue, 2, 4) == [2, 3, 1, 2, 3]
    assert queue.preceding(1) == 3
    queue.set_mode("single", True)
    assert played(queue, 2, 2) == [2, 2, 2]
    assert queue.following(2, skip=True) == 3  # next still moves on
    queue.set_mode("repeat", False)
    assert played(queue, 2, 2) == [2]


def test_random_plays_each_track_once_per_round_starting_with_the_current():
    queue = filled(30)
    queue.set_mode("random", True, current=7)
    first_round = played(queue, 7, 40)
    assert first_round[0] == 7 and sorted(first_round) == list(range(1, 31))
    assert first_round != list(range(7, 31)) + list(range(1, 7))  # shuffled, not the plain order
    assert played(queue, 7, 40) == first_round  # asking again gives the same answer
    new = queue.add([Path("/music/late.flac")])[0]
    assert new in played(queue, 7, 40)  # what is added while random plays comes up in this round


def test_saved_and_restored_queue_is_the_same_queue():
    queue = filled(4)
    queue.set_mode("random", True, current=2)
    queue.set_mode("consume", True)
    again = Queue.from_dict(queue.to_dict())
    assert again.ids() == queue.ids() and again.modes == queue.modes and again.order == queue.order
    assert again.add([Path("/x.flac")]) == [5]  # ids keep counting
    damaged = Queue.from_dict({"items": [{"id": 9, "path": "/a.flac"}], "order": [4, 9], "modes": {"bogus": 1}})
    assert damaged.order == [9] and "bogus" not in damaged.modes and damaged.next_id == 10
