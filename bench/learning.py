"""Learning-loop benchmark: processing one feedback event, and one parameter update.

    python bench/learning.py

On the demo home (six months of feedback). "Processing one feedback event" = append the event,
then ``learning.after_feedback``: ingest it into DuckDB and recompute the running A/B tests and
the degradation watch, on one connection (what the app does after each key); "a parameter
update" = applying the pattern recommendations of one type as a new personal-layer version.
Baseline, same run: one bare fsynced append.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path[0] = str(Path(__file__).resolve().parents[1])

from auralis_tui import abtest, feedback, learning, personal, profiles, store
from auralis_tui.demo import build_demo
from bench.timing import median_ms


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="auralis-bench-") as tmp:
        home = Path(tmp) / "demo"
        build_demo(home)
        abtest.start(home, "bench", "studio@2.0", "studio@2.1", bandit="thompson", min_samples=5)
        template = feedback.read_log(home).events[-1] | {"event": "rating", "rating": 4, "test_id": "bench"}
        store.sync_feedback(home)
        append = median_ms(lambda: feedback.append(home, template | {"variant": "control"}))

        def process_event() -> None:
            feedback.append(home, template | {"variant": "treatment"})
            learning.after_feedback(home)

        event = median_ms(process_event)
        def new_evidence() -> None:  # patterns count ratings heard under the current settings only
            layer = personal.current(home)
            heard = template | {"detected_type": "bootleg", "comment": "too thin", "test_id": None}
            heard["profile"] = {"name": "bootleg", "version": profiles.current_version(home, "bootleg")}
            heard["personal_version"] = layer.version if layer else None
            feedback.append(home, [heard | {"id": f"{heard['id']}-{i}-{time.time_ns()}"} for i in range(6)])

        update = median_ms(lambda: learning.apply_patterns(home, "bootleg"), runs=10, setup=new_evidence)
        print(f"one feedback event (append + ingest + A/B status + degradation watch): median {event:.0f} ms "
              f"(target <= 50 ms; bare append {append:.1f} ms)")  # fmt: skip
        print(f"one parameter update (apply a type's patterns as a new personal version): median {update:.0f} ms "
              "(target <= 100 ms)")


if __name__ == "__main__":
    main()
