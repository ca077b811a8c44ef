"""Feedback benchmark: append latency, ingest and analysis at a million ratings, peak memory.

    python bench/feedback.py [--ratings 1000000]

The log is synthetic but full-size: every line carries all 25 fingerprint values, the applied
parameters and (for a third of them) a comment from a few thousand variants. Figures are
measured in this run; the append baseline is a bare one-byte write + fsync on the same disk.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path[0] = str(Path(__file__).resolve().parents[1])

from auralis_tui import feedback, store
from auralis_tui.config import set_sharing
from engine.fingerprint import FEATURE_NAMES

TYPES = ("studio_hd_bright", "studio", "metal", "bootleg", "live", "vintage", "unknown")
WORDS = ("too thin", "harsh highs", "muddy", "narrow", "lovely", "not harsh", "dull", "boomy", "great", "phasey")


def append_latency(home: Path, count: int = 200) -> tuple[float, float]:
    """Median ms of one real append (lock, O_APPEND write, fsync) and of a bare write + fsync."""
    line = feedback.make_event(
        "rating", track_path="/m/a.flac", detected_type="studio", confidence=0.8,
        profile={"name": "studio", "version": "1.0"}, parameters_applied={"bass_db": 1.0}, rating=4,
        fingerprint={name: 0.123456 for name in FEATURE_NAMES}, comment="a bit thin",
    )  # fmt: skip
    appends, bare = [], []
    home.mkdir(parents=True, exist_ok=True)
    probe = home / "probe"
    fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    for _ in range(count):
        start = time.perf_counter()
        feedback.append(home, line)
        appends.append(time.perf_counter() - start)
        start = time.perf_counter()
        os.write(fd, b"x")
        os.fsync(fd)
        bare.append(time.perf_counter() - start)
    os.close(fd)
    return statistics.median(appends) * 1e3, statistics.median(bare) * 1e3


def synthetic_log(home: Path, ratings: int) -> int:
    """Write ``ratings`` valid lines spread over three years; returns the byte size."""
    rng = random.Random(7)
    path = feedback.log_path(home)
    path.parent.mkdir(parents=True, exist_ok=True)
    comments = [f"{rng.choice(WORDS)} on track {i}" for i in range(3000)] + [""] * 6000
    start = 1_700_000_000
    with open(path, "w", encoding="utf-8") as handle:
        for i in range(ratings):
            kind = TYPES[i % len(TYPES)]
            fp = ",".join(f'"{name}":{rng.random():.6f}' for name in FEATURE_NAMES)
            moment = time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime(start + i * 94))
            handle.write(
                f'{{"schema":1,"id":"{i:032x}","timestamp":"{moment}","event":"rating","track":"t{i % 5000}.flac",'
                f'"track_path":"/music/t{i % 5000}.flac","detected_type":"{kind}","confidence":{rng.random():.4f},'
                f'"philosophy":"","rating":{1 + rng.randrange(5)},"comment":{json.dumps(rng.choice(comments))},'
                f'"fingerprint":{{{fp}}},"parameters_applied":{{"bass_db":1.5,"mid_db":0.0,"treble_db":2.0,'
                f'"width":0.1,"target_lufs":-14.0,"ceiling_dbtp":-1.0}},"profile":{{"name":"{kind}","version":"1.0"}},'
                f'"personal_version":null}}\n'
            )
    return path.stat().st_size


def timed_child(code: str, home: Path) -> tuple[float, float, str]:
    """Seconds and peak RSS (MB) of a fresh Python process running ``code``."""
    report = "; import resource; print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)"
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-c", code + report, str(home)], capture_output=True, text=True, check=True
    )
    seconds = time.perf_counter() - start
    return seconds, int(result.stderr.split()[-1]) / 1024, result.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ratings", type=int, default=1_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="auralis-bench-") as tmp:
        home = Path(tmp)
        append_ms, fsync_ms = append_latency(home / "latency")
        print(f"append (lock + O_APPEND + fsync): median {append_ms:.2f} ms; bare write+fsync {fsync_ms:.2f} ms "
              f"(ratio {append_ms / fsync_ms:.2f})")  # fmt: skip
        start = time.perf_counter()
        size = synthetic_log(home, args.ratings)
        written = time.perf_counter() - start
        print(f"synthetic log: {args.ratings:,} ratings, {size / 1e6:.0f} MB, written in {written:.1f} s")
        prelude = "import sys; from pathlib import Path; home = Path(sys.argv[1]); "
        seconds, peak, _ = timed_child(prelude + "from auralis_tui import store; store.sync_feedback(home)", home)
        print(f"first ingest (once per log; later ingests read only new bytes): {seconds:.1f} s, peak {peak:.0f} MB")
        seconds, peak, _ = timed_child(prelude + "import os; os.getpid()", home)
        python_start = seconds
        command = "from auralis_tui.cli import main; main(['--home', str(home), 'analyze', '--all-types', '--json'])"
        seconds, peak, out = timed_child(prelude + command, home)
        samples = sum(t["samples"] for t in json.loads(out)["types"])
        print(f"analyze --all-types, new process: {seconds:.2f} s (bare Python start {python_start:.2f} s), "
              f"{samples:,} samples, peak {peak:.0f} MB")  # fmt: skip
        queries = {
            "ratings_monthly": "SELECT * FROM ratings_monthly",
            "rating_distribution": "SELECT * FROM rating_distribution",
            "profile_satisfaction": "SELECT * FROM profile_satisfaction",
            "track_ratings top 20": "SELECT * FROM track_ratings ORDER BY average_rating DESC LIMIT 20",
        }
        store.run_user_query(home, "SELECT 1")
        for name, sql in queries.items():
            store.run_user_query(home, sql)
            runs = []
            for _ in range(5):
                start = time.perf_counter()
                store.run_user_query(home, sql)
                runs.append(time.perf_counter() - start)
            print(f"trend query {name} (warm): median {statistics.median(runs) * 1e3:.0f} ms")
        feedback.append(home, feedback.make_event(
            "rating", track_path="/m/new.flac", detected_type="studio", confidence=0.9,
            profile={"name": "studio", "version": "1.0"}, parameters_applied={}, rating=5,
        ))  # fmt: skip
        start = time.perf_counter()
        store.sync_feedback(home)
        print(f"incremental ingest of 1 new line after {args.ratings:,}: {(time.perf_counter() - start) * 1e3:.0f} ms")
        set_sharing(home, True)
        rewrites = {
            "export --anonymized": ["export", "--anonymized", str(home / "export.json")],
            "forget (keeps every line: the whole log is rewritten)": ["forget", "--older-than", "36500d"],
        }
        for name, argv in rewrites.items():
            command = f"from auralis_tui.cli import main; main(['--home', str(home), *{argv!r}])"
            seconds, peak, _ = timed_child(prelude + command, home)
            print(f"{name}: {seconds:.1f} s, peak {peak:.0f} MB (target <= 500 MB)")


if __name__ == "__main__":
    main()
