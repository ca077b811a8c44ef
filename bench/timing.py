"""Shared timing helper for the benchmark scripts."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def median_ms(action: Callable[[], object], runs: int = 20, setup: Callable[[], object] = lambda: None) -> float:
    """Median wall time of ``action`` over ``runs`` calls (each after an untimed ``setup``), in ms."""
    times = []
    for _ in range(runs):
        setup()
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3
