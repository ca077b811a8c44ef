"""Whole-process command times (start-up included), beside a bare interpreter measured in the same run.

Every figure is the median wall time of a fresh `auralis …` process, runs interleaved round-robin
with `python -c pass` so machine load hits all alike. `fingerprint` of a 3-minute 44.1 kHz FLAC is
compared with a process that only decodes that file, the SQL commands with ones that only import
DuckDB (the package, and the compiled core the store uses). Byte code is cached as in an install
(`PYTHONDONTWRITEBYTECODE` would recompile every module of ours in every process), in a scratch
`PYTHONPYCACHEPREFIX`, and the first round only warms that cache.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from auralis_tui.synth import CHARACTERS, render
from engine import audio

RUNS = 9
AURALIS = str(Path(sys.executable).with_name("auralis"))


def wall(argv: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    result = subprocess.run(argv, capture_output=True, env=env)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed: {result.stderr.decode()[-400:]}")
    return elapsed


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="auralis-bench-cli-"))
    try:
        home, flac = work / "demo", work / "three-minutes.flac"
        print("building the demo home and a 3-minute FLAC …", file=sys.stderr)
        subprocess.run([AURALIS, "demo", "--home", str(home), "--no-ui"], check=True, capture_output=True)
        audio.write(flac, render(CHARACTERS["studio"], 180, 44100, seed=9), 44100)
        track = next((home / "demo-library").rglob("*.flac"))
        env = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
        env |= {"AURALIS_HOME": str(home), "PYTHONPYCACHEPREFIX": str(work / "pycache")}
        py = [sys.executable, "-c"]
        cases: dict[str, tuple[list[str], float | None]] = {  # name → (argv, budget in seconds)
            "python -c pass": ([*py, "pass"], None),
            "import-duckdb-only process": ([*py, "import duckdb"], None),
            "import-_duckdb-only process (DuckDB's core)": ([*py, "import _duckdb"], None),
            "decode-only process (3-min FLAC)": ([*py, f"from engine import audio; audio.decode({str(flac)!r})"], None),
            "auralis --version": ([AURALIS, "--version"], 0.25),
            "auralis profiles list": ([AURALIS, "profiles", "list"], 0.25),
            "auralis profiles show studio": ([AURALIS, "profiles", "show", "studio"], 0.25),
            "auralis profiles diff studio@2.0 studio@2.1": ([AURALIS, "profiles", "diff", "studio@2.0", "studio@2.1"],
                                                            0.25),
            "auralis profiles history studio": ([AURALIS, "profiles", "history", "studio"], 0.25),
            "auralis sql 'SELECT count(*) FROM tracks'": ([AURALIS, "sql", "SELECT count(*) FROM tracks"], 0.25),
            "auralis analyze --all-types (demo home)": ([AURALIS, "analyze", "--all-types"], 0.5),
            "auralis rate FILE --rating 4 (scanned)": ([AURALIS, "rate", str(track), "--rating", "4"], 0.5),
            "auralis fingerprint (3-min FLAC)": ([AURALIS, "fingerprint", str(flac)], None),
        }  # fmt: skip
        times: dict[str, list[float]] = {name: [] for name in cases}
        load_before = os.getloadavg()[0]
        for round_ in range(RUNS + 1):
            for name, (argv, _budget) in cases.items():
                seconds = wall(argv, env)
                if round_:  # round 0 writes the byte code
                    times[name].append(seconds)
        median = {name: statistics.median(values) for name, values in times.items()}
        bare = median["python -c pass"]
        print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (seconds grow with load; ratios less)")
        print(f"{'command':48s} {'median s':>9s} {'× bare':>7s}  budget: seconds, × bare (0.25 s ≈ 6× idle)")
        for name, (_argv, budget) in cases.items():
            times_bare, limit = median[name] / bare, 24 * (budget or 0)  # 0.25 s ↔ 6× bare
            verdict = "" if budget is None else (
                f"≤ {budget:.2f} s {'ok' if median[name] <= budget else 'OVER'}, "
                f"≤ {limit:.0f}× {'ok' if times_bare <= limit else 'OVER'}"
            )  # fmt: skip
            print(f"{name:48s} {median[name]:9.3f} {times_bare:7.1f}  {verdict}")
        fingerprints, decodes = times["auralis fingerprint (3-min FLAC)"], times["decode-only process (3-min FLAC)"]
        ratio = median["auralis fingerprint (3-min FLAC)"] / median["decode-only process (3-min FLAC)"]
        rounds = sorted(f / d for f, d in zip(fingerprints, decodes, strict=True))  # the same round's pair
        print(f"fingerprint ÷ decode-only process: {ratio:.2f} (≤ 1.5), per round {rounds[0]:.2f}–{rounds[-1]:.2f}")
        print(f"   fingerprint {min(fingerprints):.3f}–{max(fingerprints):.3f} s, decode {min(decodes):.3f}–"
              f"{max(decodes):.3f} s, load average {load_before:.1f} → {os.getloadavg()[0]:.1f}")  # fmt: skip
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
