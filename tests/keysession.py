"""A random key session against the app (Pilot): every key pressed is checked against what the
focused chain shows, and every line it writes against the key. Used by the tests (which want no
violation) and by bench/tui.py (which counts them)."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

from textual.widgets import Input
from textual.worker import WorkerCancelled

from auralis_tui import feedback
from auralis_tui.ui.app import AuralisApp

#: Every single-key action, movement, panels, boxes and dialogs (q, which quits, and ctrl+p,
#: whose commands run actions by name, are left out).
KEYS = [*"12345acuyxzndmrgGjkRes", "space", "slash", "question_mark", "plus", "minus", "left", "right", "up",
        "down", "enter", "escape", "tab", "backspace", "home", "end", "pageup", "pagedown",
        *[f"f{n}" for n in range(1, 7)]]  # fmt: skip
PRINTABLE_NAMES = ("space", "slash", "question_mark", "plus", "minus")
#: What each key may write to the log, when it reaches its action.
WRITES = {**{str(n): "rating" for n in range(1, 6)}, "u": "undo", "y": "accept", "x": "reject", "z": "undo"}


async def settle(pilot) -> None:
    """Wait until no worker runs and none starts during a short pause (loads chain into others).
    A worker cancelled on the way (a newer one of its exclusive group replaced it) is no failure."""
    quiet = 0
    while quiet < 2:
        busy = any(worker.is_running for worker in pilot.app.workers)
        try:
            await pilot.app.workers.wait_for_complete()
        except WorkerCancelled:
            busy = True
        await pilot.pause(0.05)
        quiet = 0 if busy else quiet + 1


async def key_session(home: Path, seed: int, presses: int) -> list[str]:
    """Press ``presses`` random keys; return a line per key that reached an action its focused
    chain does not show, was typed into a box and still acted, wrote what it shouldn't, or crashed."""
    draw, app, ran, violations = random.Random(seed), AuralisApp(home, audio=False), [], []
    real_run_action = app.run_action

    async def recorded(action, default_namespace=None):
        ran.append(action if isinstance(action, str) else repr(action))
        return await real_run_action(action, default_namespace)

    app.run_action = recorded
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        for number in range(presses):
            key = draw.choice(KEYS)
            typing = isinstance(app.focused, Input) and (len(key) == 1 or key in PRINTABLE_NAMES)
            shown = {binding.action for _, bindings in app.screen._binding_chain
                     for binding in bindings.key_to_bindings.get(key, [])}  # fmt: skip
            first, lines = len(ran), len(feedback.read_log(home).events)
            await pilot.press(key)
            await settle(pilot)
            if not app.is_running or app._exception is not None:
                return [*violations, f"#{number} {key}: the app stopped ({app._exception!r})"]
            done = ran[first:]
            written = [line["event"] for line in feedback.read_log(home).events[lines:]]
            if any(action not in shown for action in done):
                violations.append(f"#{number} {key} ran {done}; the focused chain shows {sorted(shown)}")
            if typing and (done or written):
                violations.append(f"#{number} {key} typed into a box reached {done} and wrote {written}")
            if written not in ([], [WRITES.get(key)]):
                violations.append(f"#{number} {key} wrote {written}")
    return violations


def run_session(home: Path, seed: int = 20261130, presses: int = 200) -> list[str]:
    return asyncio.run(key_session(home, seed, presses))
