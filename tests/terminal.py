"""A real terminal for journey tests: the installed ``auralis`` in a tmux pane, driven with
send-keys and read with capture-pane. Every wait is on a condition (screen text, log lines)
with a generous deadline, never a fixed sleep, so the journeys hold on a loaded machine."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from auralis_tui import feedback

AURALIS = Path(sys.executable).with_name("auralis")
DEADLINE = 90.0  # seconds; a condition that takes longer is a failure, whatever the load


class Terminal:
    """One tmux session running one command."""

    def __init__(self, command: str, size: tuple[int, int] = (80, 24), env: dict | None = None) -> None:
        self.session = f"auralis-{os.getpid()}-{time.monotonic_ns()}"
        width, height = size
        # the pane's process gets the tmux server's environment, not ours: pass variables in the command
        settings = " ".join(shlex.quote(f"{key}={value}") for key, value in (env or {}).items())
        subprocess.run(
            ["tmux", "new-session", "-d", "-s", self.session, "-x", str(width), "-y", str(height),
             f"env {settings} {command}" if settings else command],
            check=True, env={**os.environ, "TERM": "xterm-256color"},
        )  # fmt: skip

    def screen(self) -> str:
        return subprocess.run(
            ["tmux", "capture-pane", "-p", "-t", self.session], capture_output=True, text=True
        ).stdout

    def keys(self, *keys: str, literal: bool = False) -> None:
        """Press tmux key names ("F6", "Enter", "Space"), or type text with ``literal``."""
        flags = ["-l"] if literal else []
        for key in keys:
            subprocess.run(["tmux", "send-keys", "-t", self.session, *flags, key], check=True)

    def type(self, text: str) -> None:
        self.keys(text, literal=True)

    def wait_until(self, condition: Callable[[], object], what: str, seconds: float = DEADLINE):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            value = condition()
            if value:
                return value
            time.sleep(0.05)
        raise AssertionError(f"{what} never happened; the screen:\n{self.screen()}")

    def wait_for(self, *fragments: str, seconds: float = DEADLINE) -> str:
        """The screen once it shows every fragment."""
        return self.wait_until(
            lambda: (shown := self.screen()) and all(f in shown for f in fragments) and shown,
            f"{fragments!r} on screen", seconds,
        )  # fmt: skip

    def pid(self) -> int:
        out = subprocess.run(["tmux", "list-panes", "-t", self.session, "-F", "#{pane_pid}"],
                             capture_output=True, text=True).stdout  # fmt: skip
        return int(out.split()[0])

    def alive(self) -> bool:
        return subprocess.run(["tmux", "has-session", "-t", self.session], capture_output=True).returncode == 0

    def close(self) -> None:
        subprocess.run(["tmux", "kill-session", "-t", self.session], capture_output=True)


class Log:
    """The feedback log as a journey sees it: lines written since the journey started."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.start = len(self.events())

    def events(self) -> list[dict]:
        read = feedback.read_log(self.home)
        assert read.skipped == 0, "a torn or invalid line in the log"
        return read.events

    def new(self) -> list[dict]:
        return self.events()[self.start :]

    def wait_for_new(self, terminal: Terminal, count: int) -> list[dict]:
        """The new lines once there are ``count`` of them."""
        return terminal.wait_until(lambda: len(self.new()) >= count and self.new(), f"{count} new log line(s)")
