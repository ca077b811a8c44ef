"""Learning-loop benchmark: processing one feedback event, and one parameter update.

    python bench/learning.py

On the demo home (six months of feedback). "Processing one feedback event" = append the event,
ingest it into DuckDB and recompute the A/B status and the degradation watch; "a parameter
update" = applying the pattern recommendations of one type as a new personal-layer version.
Baseline, same run: one bare fsynced append.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

sys.path[0] = str(Path(__file__).resolve().parents[1])

from auralis_tui import abtest, feedback, learning, store
from auralis_tui.demo import build_demo
from bench.timing import median_ms


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="auralis-bench-") as tmp:
        home = Path(tmp) / "demo"
        build_demo(home)
        test = abtest.start(home, "bench", "studio@1.0", "studio@1.1", bandit="thompson", min_samples=5)
        template = feedback.read_log(home).events[-1] | {"event": "rating", "rating": 4, "test_id": "bench"}
        store.sync_feedback(home)
        append = median_ms(lambda: feedback.append(home, template | {"variant": "control"}))

        def process_event() -> None:
            feedback.append(home, template | {"variant": "treatment"})
            store.sync_feedback(home)
            abtest.results(home, test)
            learning.degradations(home)

        event = median_ms(process_event)
        update = median_ms(lambda: learning.apply_patterns(home, "bootleg"), runs=10)
        print(f"one feedback event (append + ingest + A/B status + degradation watch): median {event:.0f} ms "
              f"(target <= 50 ms; bare append {append:.1f} ms)")  # fmt: skip
        print(f"one parameter update (apply a type's patterns as a new personal version): median {update:.0f} ms "
              "(target <= 100 ms)")


if __name__ == "__main__":
    main()
