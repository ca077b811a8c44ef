"""Regenerate screenshots/*.svg: every panel of the app on the demo library, at 100x30.

    .venv/bin/python scripts/screenshots.py      (or: make screenshots)
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

from auralis_tui.demo import build_demo
from auralis_tui.ui.app import AuralisApp

ROOT = Path(__file__).resolve().parents[1]

PANELS = {"library": None, "playing": "f2", "patterns": "f3", "trends": "f4", "profiles": "f5", "sql": "f6"}


async def shoot(home: Path, target: Path) -> None:
    for panel, key in PANELS.items():
        app = AuralisApp(home, audio=False)
        async with app.run_test(size=(100, 30)) as pilot:
            await app.workers.wait_for_complete()
            if key:
                await pilot.press(key)
            if panel == "sql":  # F6 puts the keys in the query box
                await pilot.press(*"SELECT month, type, average_rating FROM ratings_monthly LIMIT 12", "enter")
            await pilot.pause(0.1)
            await app.workers.wait_for_complete()
            await pilot.pause(0.1)
            app.save_screenshot(filename=f"{panel}.svg", path=str(target))
        print(f"screenshots/{panel}.svg")


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="auralis-shots-") as tmp:
        home = Path(tmp) / "demo"
        build_demo(home)
        asyncio.run(shoot(home, ROOT / "screenshots"))


if __name__ == "__main__":
    main()
