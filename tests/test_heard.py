"""Ratings of the original (heard with the A/B key) never tune the mastering: patterns, fix
effectiveness, A/B results, confidence and the per-version averages use mastered ratings only,
and Trends compares the two."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from auralis_tui import feedback, insights, store

APPLIED = {"bass_db": 1.5, "mid_db": 0.0, "treble_db": 2.0, "width": 0.0, "target_lufs": -14.0, "ceiling_dbtp": -1.0}
START = datetime(2026, 11, 1, tzinfo=UTC)


def rating(n: int, heard: str | None, comment: str = "", minute: int = 0, **extra) -> dict:
    line = feedback.make_event(
        "rating", track_path=f"/music/{extra.pop('track', 'a')}.flac", detected_type="studio", confidence=0.8,
        profile={"name": "studio", "version": "1.0"}, parameters_applied=APPLIED, rating=n, comment=comment,
        when=START + timedelta(minutes=minute), **extra,
    )  # fmt: skip
    if heard is None:
        line.pop("heard")  # a line written before `heard` existed
    else:
        line["heard"] = heard
    return line


def test_a_rating_of_the_original_says_so_and_an_old_line_counts_as_mastered(tmp_path):
    feedback.append(tmp_path, [rating(4, "mastered"), rating(2, "original", minute=1), rating(5, None, minute=2)])
    store.sync_feedback(tmp_path)
    (row,) = store.heard_comparison(tmp_path)
    assert (row["type"], row["mastered_ratings"], row["original_ratings"]) == ("studio", 2, 1)
    assert (row["mastered_average"], row["original_average"]) == (4.5, 2.0)


def test_a_line_with_an_unknown_heard_is_refused():
    line = rating(3, "mastered")
    line["heard"] = "both"
    assert "heard must be one of mastered, original" in feedback.problem_with(line)
    with pytest.raises(feedback.FeedbackError):
        feedback.append(None, line)


def test_patterns_learn_from_mastered_ratings_only(tmp_path):
    # six "too thin" comments on the original would call for more bass if they were counted
    lines = [rating(2, "original", "too thin", minute=i, track=f"o{i}") for i in range(6)]
    lines += [rating(4, "mastered", "", minute=10 + i, track=f"m{i}") for i in range(6)]
    feedback.append(tmp_path, lines)
    (summary,) = insights.type_summaries(tmp_path)
    assert summary.samples == 6 and summary.average_rating == 4.0
    assert not summary.patterns.wants.get(("bass_db", 1))
    assert not [r for r in summary.patterns.recommendations if r.parameter == "bass_db"]


def test_ab_results_and_version_averages_leave_out_the_original(tmp_path):
    feedback.append(
        tmp_path,
        [rating(5, "mastered", test_id="t1", variant="control"), rating(1, "original", minute=1, test_id="t1",
                                                                          variant="control")],
    )  # fmt: skip
    store.sync_feedback(tmp_path)
    assert store.test_ratings(tmp_path, "t1") == {"control": [5]}
    assert store.version_ratings(tmp_path) == {("studio", "1.0"): [5]}


def test_five_stars_for_the_original_do_not_raise_the_types_confidence(tmp_path):
    feedback.append(tmp_path, [rating(5, "original", minute=i) for i in range(5)])
    store.sync_feedback(tmp_path)
    assert store.learned_confidence(tmp_path, "/music/a.flac") == {"studio": 0.8}
    feedback.append(tmp_path, rating(5, "mastered", minute=9))
    store.sync_feedback(tmp_path)
    assert store.learned_confidence(tmp_path, "/music/a.flac")["studio"] > 0.8
