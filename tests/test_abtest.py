"""Blind A/B tests: statistics checked against scipy, assignment behaviour, adoption."""

from __future__ import annotations

import json
import math
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from auralis_tui import abtest, feedback, profiles
from engine.errors import ProfileError

from conftest import settle


def rate_in_test(home: Path, test: str, variant: str, ratings: list[int]) -> None:
    feedback.append(home, [
        feedback.make_event(
            "rating", track_path=f"/m/{variant}{i}.flac", detected_type="studio", confidence=0.9,
            profile={"name": "studio", "version": "2.0"}, parameters_applied={}, rating=r,
            variant=variant, test_id=test,
        )
        for i, r in enumerate(ratings)
    ])  # fmt: skip


@pytest.fixture
def home(tmp_path) -> Path:
    profiles.update(tmp_path, "studio", {"bass_db": 2.0}, "candidate")
    return tmp_path


def test_welch_and_cohen_match_scipy(rng):
    control = list(rng.integers(1, 6, 60))
    treatment = list(np.clip(rng.integers(2, 6, 45), 1, 5))
    test = abtest.Test("x", "studio@2.0", "studio@2.1", min_samples=10)
    result = abtest.evaluate(test, control, treatment)
    reference = stats.ttest_ind(treatment, control, equal_var=False)
    assert result.t == pytest.approx(reference.statistic, rel=1e-9)
    assert result.p == pytest.approx(reference.pvalue, rel=1e-9)
    a, b = np.array(control, float), np.array(treatment, float)
    pooled = math.sqrt(((len(a) - 1) * a.var(ddof=1) + (len(b) - 1) * b.var(ddof=1)) / (len(a) + len(b) - 2))
    assert result.d == pytest.approx((b.mean() - a.mean()) / pooled, rel=1e-12)
    assert result.lift == pytest.approx(b.mean() - a.mean())


@pytest.mark.parametrize(
    ("control", "treatment", "advice"),
    [
        ([3, 3, 4, 3, 2] * 12, [4, 5, 4, 5, 4] * 12, "adopt"),
        ([4, 5, 4, 5, 4] * 12, [3, 3, 4, 3, 2] * 12, "keep studio@2.0"),
        ([3, 4, 3, 4] * 15, [4, 3, 4, 3] * 15, "no clear difference"),
        ([3, 4] * 10, [5, 5] * 10, "keep going"),
    ],
)
def test_recommendation(control, treatment, advice):
    test = abtest.Test("x", "studio@2.0", "studio@2.1", min_samples=50)
    assert abtest.evaluate(test, control, treatment).recommendation.startswith(advice)


def test_thompson_sampling_favours_the_better_arm():
    test = abtest.Test("x", "studio@2.0", "studio@2.1", bandit="thompson", min_samples=20)
    outcome = abtest.evaluate(test, [2, 3, 3, 2, 4, 2, 3] * 4, [5, 4, 5, 4, 4, 5, 3] * 4)
    rng = random.Random(1)
    picks = [abtest.assign(test, outcome, rng) for _ in range(2000)]
    assert picks.count("treatment") / len(picks) > 0.95
    early = abtest.evaluate(test, [2, 3, 3, 2, 4, 2, 3], [5, 4, 5, 4, 4, 5, 3] * 4)  # control short of 20
    picks = [abtest.assign(test, early, rng) for _ in range(4000)]
    assert 0.18 < picks.count("control") / len(picks) < 0.25  # the floor keeps it fed, Thompson adds little
    fresh = abtest.evaluate(test, [], [])  # no data: a fair coin
    picks = [abtest.assign(test, fresh, rng) for _ in range(4000)]
    assert 0.45 < picks.count("treatment") / len(picks) < 0.55


def test_fixed_ratio_assignment():
    test = abtest.Test("x", "studio@2.0", "studio@2.1", ratio=0.2)
    rng = random.Random(2)
    picks = [abtest.assign(test, abtest.evaluate(test, [], []), rng) for _ in range(5000)]
    assert 0.18 < picks.count("treatment") / len(picks) < 0.22


def test_start_status_and_stop_with_adoption(home):
    abtest.start(home, "bass", "studio@2.0", "studio@2.1", bandit="thompson", min_samples=20)
    profiles.rollback(home, "studio", "2.0")  # the listener went back to 2.0 while testing
    rate_in_test(home, "bass", "control", [3, 3, 4, 3, 2] * 5)
    rate_in_test(home, "bass", "treatment", [4, 5, 4, 5, 4] * 5)
    outcome = abtest.results(home, abtest.load(home, "bass"))
    assert (outcome.arms["control"].n, outcome.arms["treatment"].n) == (25, 25)
    assert outcome.recommendation.startswith("adopt studio@2.1")
    test, _, adopted = abtest.stop(home, "bass", adopt=True)
    assert adopted == "2.3" and profiles.current_version(home, "studio") == "2.3"
    assert profiles.load(home, "studio").master == profiles.load(home, "studio", "2.1").master
    assert test.stopped and test.adopted == "studio@2.3"
    with pytest.raises(ProfileError, match="already stopped"):
        abtest.stop(home, "bass")


@pytest.mark.parametrize(
    ("control", "treatment", "fragment"),
    [("studio@2.0", "metal@2.0", "two versions of one profile"), ("studio@2.0", "studio@9.9", "no version 9.9")],
)
def test_start_refuses_bad_pairs(home, control, treatment, fragment):
    with pytest.raises(ProfileError, match=fragment):
        abtest.start(home, "t", control, treatment)


def test_cli_status_json(home):
    run = [sys.executable, "-m", "auralis_tui", "--home", str(home), "abtest"]
    started = subprocess.run([*run, "start", "cli", "--control", "studio@2.0", "--treatment", "studio@2.1",
                              "--min-samples", "5"], capture_output=True, text=True)  # fmt: skip
    assert started.returncode == 0, started.stderr
    rate_in_test(home, "cli", "control", [2, 3, 2, 3, 2, 3])
    rate_in_test(home, "cli", "treatment", [5, 4, 5, 4, 5, 4])
    status = subprocess.run([*run, "status", "--json"], capture_output=True, text=True)
    (entry,) = json.loads(status.stdout)
    reference = stats.ttest_ind([5, 4, 5, 4, 5, 4], [2, 3, 2, 3, 2, 3], equal_var=False)
    assert entry["p"] == pytest.approx(reference.pvalue, rel=1e-9)
    assert entry["recommendation"].startswith("adopt")
    bad = subprocess.run([*run, "stop"], capture_output=True, text=True)
    assert bad.returncode == 2 and "required: NAME" in bad.stderr  # a usage error


def test_ratings_in_the_app_record_the_blind_variant(demo_home, tmp_path):
    """Each rating in the app counts for the version the blind draw chose, with that version's
    parameters. Studio tracks are rated in turn until both variants were drawn (each draw is
    50/50, so 40 ratings all of one variant would take a 1 in 10^11 chance)."""
    import asyncio
    import shutil

    from auralis_tui.ui.app import AuralisApp

    home = tmp_path / "demo"
    shutil.copytree(demo_home, home, symlinks=True)  # the session's demo, not a second build
    abtest.start(home, "studio-bass", "studio@2.0", "studio@2.1", ratio=0.5)
    studio = [p for p, kind in _types(home).items() if kind == "studio"]

    async def scenario() -> None:
        app = AuralisApp(home, audio=False)
        async with app.run_test(size=(80, 24)) as pilot:
            table = app.query_one("#tracks")
            await settle(app, pilot, lambda: all(p in table.rows for p in studio), "the track list")
            for done in range(1, 41):
                table.move_cursor(row=table.get_row_index(studio[done % len(studio)]))
                await pilot.press("4")
                await settle(app, pilot, lambda n=done: len(in_test(home)) == n, f"rating {done} in the log")
                if {line["variant"] for line in in_test(home)} == {"control", "treatment"}:
                    return

    asyncio.run(scenario())
    lines = in_test(home)
    assert {line["variant"] for line in lines} == {"control", "treatment"} and len(studio) >= 2
    for line in lines:
        version = {"control": "2.0", "treatment": "2.1"}[line["variant"]]
        assert line["profile"]["version"] == version  # the rating counts for what was heard
        expected = profiles.load(home, "studio", version).master.bass_db
        assert line["parameters_applied"]["bass_db"] == pytest.approx(expected)


def in_test(home: Path) -> list[dict]:
    return [e for e in feedback.read_log(home).events if e.get("test_id") == "studio-bass"]


def _types(home: Path) -> dict[str, str]:
    from auralis_tui import store

    with store.connect(home, read_only=True) as con:
        return dict(con.execute("SELECT path, type FROM tracks").fetchall())
