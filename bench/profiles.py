"""Profile-store benchmark: update-profile (new version + validation, git excluded) and diff.

    python bench/profiles.py

Baseline, measured in the same run: parsing one profile TOML file (engine.model.load_profile).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

sys.path[0] = str(Path(__file__).resolve().parents[1])

from auralis_tui import profiles
from bench.timing import median_ms
from engine.model import SHIPPED_PROFILES_DIR, load_profile


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="auralis-bench-") as tmp:
        home = Path(tmp)
        profiles.seed(home)
        parse = median_ms(lambda: load_profile(SHIPPED_PROFILES_DIR / "studio.toml"), runs=30)
        values = iter(range(10**6))
        update = median_ms(lambda: profiles.update(home, "studio", {"bass_db": 1.0 + next(values) % 50 / 100}, "bench"))
        latest = f"studio@{profiles.current_version(home, 'studio')}"
        diff = median_ms(lambda: profiles.diff(home, f"studio@{profiles.BASE_VERSION}", latest))
        print(f"parse one profile (baseline): {parse:.2f} ms")
        print(f"update-profile (new version + validation, no git): median {update:.1f} ms "
              f"({update / parse:.0f}× parse)")  # fmt: skip
        print(f"diff of two versions: median {diff:.2f} ms ({diff / parse:.1f}× parse)")


if __name__ == "__main__":
    main()
