"""A progress line for long work on stderr: count, rate, ETA; redrawn at most 4 times a second."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    def __init__(self, label: str, total: int, unit: str = "files", stream: TextIO | None = None) -> None:
        self.label, self.total, self.unit = label, total, unit
        self.stream = stream or sys.stderr
        self.done = 0
        self.started = time.monotonic()
        self._drawn = 0.0
        self._tty = self.stream.isatty()

    def advance(self, count: int = 1) -> None:
        self.done += count
        now = time.monotonic()
        if now - self._drawn >= (0.25 if self._tty else 5.0) or self.done >= self.total:
            self._drawn = now
            self._draw()

    @property
    def rate(self) -> float:
        elapsed = time.monotonic() - self.started
        return self.done / elapsed if elapsed > 0 else 0.0

    def _draw(self) -> None:
        rate = self.rate
        remaining = (self.total - self.done) / rate if rate > 0 else 0.0
        width = 24
        filled = int(width * self.done / self.total) if self.total else width
        bar = "#" * filled + "." * (width - filled)
        text = (
            f"{self.label} [{bar}] {self.done}/{self.total} {self.unit}"
            f"  {rate:.1f} {self.unit}/s  ETA {int(remaining // 60)}:{int(remaining % 60):02d}"
        )
        self.stream.write(("\r" + text) if self._tty else text + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self._tty and self.total:
            self.stream.write("\n")
            self.stream.flush()
