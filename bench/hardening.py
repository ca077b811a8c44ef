"""Hostile input: keyword matching on a worst-case 4 KB comment, and `auralis sql` on runaway
queries (time to stop, peak memory), each beside a baseline measured in the same run."""

from __future__ import annotations

import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from timing import median_ms

from auralis_tui import patterns

WORST = {  # every word a term: the most matches (and negation checks) a 4 KB comment can hold
    "one term repeated": ("harsh " * 700)[:4096],
    "every kind of term": ("thin boomy harsh dull narrow phasey too bright more bass not bright enough " * 60)[:4096],
    "negated terms": ("not very harsh, " * 300)[:4096],
}


def _cpu_ms(action, runs: int = 20) -> float:
    best = float("inf")
    for _ in range(runs):
        start = time.process_time()
        action()
        best = min(best, time.process_time() - start)
    return best * 1e3


def keyword_matching() -> None:
    print("keyword matching, 4 KB comment (best CPU ms of 20; baseline: one \\w+ tokenising pass)")
    for name, text in WORST.items():
        baseline = _cpu_ms(lambda text=text: re.findall(r"\w+", text))
        matched = _cpu_ms(lambda text=text: patterns.find_mentions(text))
        wall = median_ms(lambda text=text: patterns.find_mentions(text))
        print(f"  {name:20s} {matched:6.2f} ms CPU ({wall:6.2f} ms wall)  {matched / baseline:5.1f}× the tokeniser")
    small = _cpu_ms(lambda: patterns.find_mentions(WORST["one term repeated"][:512]))
    large = _cpu_ms(lambda: patterns.find_mentions(WORST["one term repeated"]))
    print(f"  8× the text costs {large / small:.1f}× (linear: 8; the quadratic matcher it replaced: ~64)")


def _child(folder: str, *args: str) -> tuple[float, float, str]:
    """(wall seconds, peak RSS MB of every child so far, last stderr line) of one `auralis` run."""
    start = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "auralis_tui", *args], capture_output=True, text=True, cwd=folder)
    seconds = time.monotonic() - start
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return seconds, peak, (done.stderr.strip().splitlines() or [""])[-1]


def runaway_queries() -> None:
    with tempfile.TemporaryDirectory() as folder:
        home = str(Path(folder) / "home")
        _child(folder, "--home", home, "sql", "SELECT 1")  # creates the database
        base_s, base_mb, _ = _child(folder, "--home", home, "sql", "SELECT 1")
        print(f"auralis sql (baseline `SELECT 1`: {base_s:.2f} s, {base_mb:.0f} MB peak)")
        for query in (
            "SELECT * FROM range(10000000000)",
            "SELECT sum(range) FROM range(1000000000000)",
            "SELECT list(range) FROM range(2000000000)",
        ):
            seconds, peak, said = _child(folder, "--home", home, "sql", query)
            print(f"  {query:45s} {seconds:6.2f} s ({seconds / base_s:4.1f}×), peak so far {peak:4.0f} MB: {said}")


if __name__ == "__main__":
    keyword_matching()
    runaway_queries()
