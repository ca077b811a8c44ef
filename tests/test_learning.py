"""The learning loop: degradation watch after a profile change."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import pytest
from scipy import stats

from auralis_tui import feedback, learning, profiles


def ratings_under(home: Path, version: str, ratings: list[int]) -> None:
    feedback.append(home, [
        feedback.make_event(
            "rating", track_path=f"/m/{version}-{i}.flac", detected_type="studio", confidence=0.9,
            profile={"name": "studio", "version": version}, parameters_applied={}, rating=r,
        )
        for i, r in enumerate(ratings)
    ])  # fmt: skip


@pytest.fixture
def changed(tmp_path) -> Path:
    profiles.update(tmp_path, "studio", {"bass_db": 4.0}, "a lot more bass")
    ratings_under(tmp_path, "1.0", [4, 5, 4, 5, 4, 4, 5, 4])
    return tmp_path


def test_worse_ratings_after_a_change_are_flagged(changed):
    after = [3, 2, 3, 3, 2, 3, 4, 2, 3, 3]
    ratings_under(changed, "1.1", after)
    (warning,) = learning.degradations(changed)
    assert (warning.kind, warning.current, warning.parent) == ("studio", "1.1", "1.0")
    reference = stats.ttest_ind(after, [4, 5, 4, 5, 4, 4, 5, 4], equal_var=False, alternative="less")
    assert warning.p == pytest.approx(reference.pvalue, rel=1e-9)
    assert "auralis profiles rollback studio" in warning.message()
    command = [sys.executable, "-m", "auralis_tui", "--home", str(changed), "analyze", "--json"]
    result = subprocess.run(command, capture_output=True, text=True)
    assert json.loads(result.stdout)["degradations"][0]["current"] == "1.1"


@pytest.mark.parametrize(
    "after",
    [[3, 2, 3, 3, 2, 3, 4, 2, 3], [4, 5, 4, 4, 5, 4, 5, 4, 4, 5], [5, 5, 5, 5, 5, 5, 5, 5, 5, 5]],
    ids=["only-9-ratings", "as-good", "better"],
)
def test_no_warning_without_evidence(changed, after):
    ratings_under(changed, "1.1", after)
    assert learning.degradations(changed) == []


def test_one_key_rollback_in_the_app(changed):
    from auralis_tui.ui.app import AuralisApp

    ratings_under(changed, "1.1", [3, 2, 3, 3, 2, 3, 4, 2, 3, 3])

    async def scenario() -> None:
        app = AuralisApp(changed, audio=False)
        async with app.run_test(size=(80, 24)) as pilot:
            for _ in range(3):
                await app.workers.wait_for_complete()
                await pilot.pause(0.1)
            assert app.degraded and any("rated worse" in n.message for n in app._notifications)
            await pilot.press("R")
            for _ in range(3):
                await app.workers.wait_for_complete()
                await pilot.pause(0.1)

    asyncio.run(scenario())
    assert profiles.current_version(changed, "studio") == "1.2"
    assert profiles.load(changed, "studio").master == profiles.load(changed, "studio", "1.0").master
