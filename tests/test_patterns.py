"""Keyword patterns in rating comments: what counts as a mention, and which counts trigger which recommendation."""

from __future__ import annotations

import json
import tomllib
from collections import Counter
from pathlib import Path

import pytest

from auralis_tui.patterns import (
    PARAMETERS,
    VOCABULARY,
    Mention,
    PatternReport,
    Recommendation,
    Sample,
    analyse,
    find_mentions,
)

BASS_UP, BASS_DOWN = ("bass_db", 1), ("bass_db", -1)
TREBLE_UP, TREBLE_DOWN = ("treble_db", 1), ("treble_db", -1)
WIDTH_UP, WIDTH_DOWN = ("width", 1), ("width", -1)


def keys(comment: str) -> list[tuple[str, int]]:
    return [(mention.parameter, mention.direction) for mention in find_mentions(comment)]


def batch(comments: list[str], total: int = 5, rating: int = 4, confidence: float = 0.9) -> list[Sample]:
    """``total`` samples s0, s1, ...: the given comments first, the rest uncommented."""
    padded = comments + [""] * (total - len(comments))
    return [Sample(f"s{i}", rating, confidence, comment) for i, comment in enumerate(padded)]


def parameter_recommendations(report: PatternReport) -> dict[str, Recommendation]:
    return {r.parameter: r for r in report.recommendations if r.kind == "parameter"}


def kinds(report: PatternReport) -> list[str]:
    return [r.kind for r in report.recommendations]


# --- find_mentions: vocabulary -------------------------------------------------------------------------------------

VOCABULARY_TABLE = [
    *[(phrase, BASS_UP) for phrase in ("more bass", "needs bass", "thin", "bass-light", "bass light", "lacks bass")],
    *[(phrase, BASS_UP) for phrase in ("lacking bass", "weak bass", "no bass", "more low end", "needs low-end")],
    *[(phrase, BASS_DOWN) for phrase in ("boomy", "muddy", "too much bass", "bass-heavy", "bass heavy", "bloated")],
    *[(phrase, BASS_DOWN) for phrase in ("less bass", "muddiness", "boominess")],
    *[(phrase, TREBLE_DOWN) for phrase in ("harsh", "bright", "too bright", "sibilant", "shrill", "piercing")],
    *[(phrase, TREBLE_DOWN) for phrase in ("too much treble", "less treble", "fatiguing", "harshness", "brightness")],
    *[(phrase, TREBLE_UP) for phrase in ("dull", "dark", "muffled", "veiled", "more treble", "needs air")],
    *[(phrase, TREBLE_UP) for phrase in ("more air", "more sparkle", "lacks brightness")],
    *[(phrase, WIDTH_UP) for phrase in ("narrow", "wider", "more width", "cramped")],
    *[(phrase, WIDTH_DOWN) for phrase in ("too wide", "phasey", "phasy", "less width", "too-wide")],
]


@pytest.mark.parametrize(("comment", "key"), VOCABULARY_TABLE, ids=[c for c, _ in VOCABULARY_TABLE])
def test_each_vocabulary_phrase_is_one_mention(comment: str, key: tuple[str, int]) -> None:
    assert find_mentions(comment) == [Mention(*key, comment)]


@pytest.mark.parametrize(("comment", "key"), VOCABULARY_TABLE, ids=[c for c, _ in VOCABULARY_TABLE])
def test_vocabulary_phrase_inside_a_sentence(comment: str, key: tuple[str, int]) -> None:
    assert keys(f"Honestly it sounds {comment} to me.") == [key]


# --- find_mentions: an independent corpus of listener comments (tests/data/listener_comments.toml) ----------------

LABELS = {
    "bass+": BASS_UP, "bass-": BASS_DOWN, "treble+": TREBLE_UP, "treble-": TREBLE_DOWN, "width+": WIDTH_UP,
    "width-": WIDTH_DOWN,
}  # fmt: skip
CORPUS_FILE = Path(__file__).parent / "data" / "listener_comments.toml"
CORPUS = tomllib.loads(CORPUS_FILE.read_text(encoding="utf-8"))["comment"]


def corpus_case(case: dict):
    """One labelled comment; a known gap must stay wrong (strict xfail) until the mark is removed."""
    marks = [pytest.mark.xfail(strict=True, reason=f"known gap: {case['gap']}")] if "gap" in case else []
    wanted = sorted(LABELS[label] for label in case["expect"])
    return pytest.param(case["text"], wanted, marks=marks, id=case["text"][:50] or "<empty>")


@pytest.mark.parametrize(("comment", "wanted"), [corpus_case(case) for case in CORPUS])
def test_listener_comment_is_read_as_labelled(comment: str, wanted: list[tuple[str, int]]) -> None:
    assert sorted(keys(comment)) == wanted


def test_the_corpus_is_broad_and_its_gaps_explained() -> None:
    texts = [case["text"] for case in CORPUS]
    assert len(texts) == len(set(texts)) >= 120
    assert all(set(case) <= {"text", "expect", "gap"} and set(case["expect"]) <= set(LABELS) for case in CORPUS)
    assert all(case["gap"].strip() for case in CORPUS if "gap" in case)
    labelled = Counter(label for case in CORPUS if "gap" not in case for label in case["expect"])
    assert all(labelled[label] >= 5 for label in LABELS), labelled  # every request, both ways
    assert sum(1 for case in CORPUS if not case["expect"]) >= 30  # praise, negations, out-of-scope complaints
    gaps = sum(1 for case in CORPUS if "gap" in case)
    assert gaps <= 0.2 * len(CORPUS)  # at least four in five comments read right


def test_vocabulary_covers_every_parameter_both_ways_without_overlap() -> None:
    assert set(VOCABULARY) == {(parameter, direction) for parameter in PARAMETERS for direction in (1, -1)}
    phrases = [phrase for group in VOCABULARY.values() for phrase in group]
    assert len(phrases) == len(set(phrases))
    assert all(group for group in VOCABULARY.values())


@pytest.mark.parametrize(
    "comment",
    ["thing", "within", "something", "things sound fine", "a thinking man's record", "darkroom", "", "   ", "5/5"],
)
def test_terms_never_match_inside_other_words(comment: str) -> None:
    assert find_mentions(comment) == []


# --- negation, "enough", clauses ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "comment",
    [
        "not harsh",
        "not too bright",
        "not at all harsh",
        "never boomy",
        "isn't muddy",
        "isnt muddy",
        "isn’t muddy",
        "wasn't shrill",
        "hardly harsh",
        "without any harshness",
        "no longer muddy",
        "no harshness",
        "not too much bass",
        "not too wide",
        "bright enough",
    ],
)
def test_negated_or_sufficient_terms_are_not_mentions(comment: str) -> None:
    assert find_mentions(comment) == []


def test_negation_only_reaches_a_few_words_back() -> None:
    assert keys("not what I expected from the label, very harsh") == [TREBLE_DOWN]
    assert keys("not what I expected and very harsh") == [TREBLE_DOWN]


@pytest.mark.parametrize(
    ("comment", "key", "phrase"),
    [
        ("not bright enough", TREBLE_UP, "not bright enough"),
        ("Isn't quite bright enough.", TREBLE_UP, "isn't quite bright enough"),
        ("not wide enough", WIDTH_UP, "not wide enough"),
        ("not bassy enough", BASS_UP, "not bassy enough"),
        ("not enough bass", BASS_UP, "not enough bass"),
        ("not dark enough", TREBLE_DOWN, "not dark enough"),
    ],
)
def test_not_x_enough_flips_the_direction(comment: str, key: tuple[str, int], phrase: str) -> None:
    assert find_mentions(comment) == [Mention(*key, phrase)]


@pytest.mark.parametrize(
    "comment",
    [
        "not harsh but a bit muddy",
        "not harsh but muddy",
        "Not harsh, a bit muddy",
        "not harsh; muddy",
        "not harsh. Muddy!",
        "not harsh (muddy)",
    ],
)
def test_negation_stops_at_punctuation_and_but(comment: str) -> None:
    assert keys(comment) == [BASS_DOWN]


def test_no_bass_is_a_request_for_bass_not_a_negation() -> None:
    assert find_mentions("No bass at all") == [Mention("bass_db", 1, "no bass")]


# --- longest match, case, order, duplicates -------------------------------------------------------------------------


def test_longest_phrase_wins() -> None:
    assert find_mentions("too much bass") == [Mention("bass_db", -1, "too much bass")]
    assert find_mentions("too wide") == [Mention("width", -1, "too wide")]
    assert find_mentions("too much brightness") == [Mention("treble_db", -1, "too much brightness")]
    assert find_mentions("less stereo width") == [Mention("width", -1, "less stereo width")]


@pytest.mark.parametrize(
    ("comment", "phrase"),
    [
        ("TOO MUCH BASS!!!", "too much bass"),
        ("Bass-Light.", "bass-light"),
        ("HARSH", "harsh"),
        ("too   much\tbass", "too much bass"),
    ],
)
def test_case_punctuation_and_spacing(comment: str, phrase: str) -> None:
    [mention] = find_mentions(comment)
    assert mention.phrase == phrase


def test_one_mention_per_key_in_order_of_first_appearance() -> None:
    assert find_mentions("boomy and muddy, also harsh; muddy again, narrow") == [
        Mention("bass_db", -1, "boomy"),
        Mention("treble_db", -1, "harsh"),
        Mention("width", 1, "narrow"),
    ]


def test_opposite_directions_are_separate_mentions() -> None:
    assert keys("thin in the verse, boomy in the chorus") == [BASS_UP, BASS_DOWN]


# --- analyse: parameter rules ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("comments", "parameter", "low", "high"),
    [
        (["thin", "more bass", "bass-light"], "bass_db", 0.3, 0.5),
        (["boomy", "muddy", "too much bass"], "bass_db", -0.5, -0.3),
        (["harsh", "too bright"], "treble_db", -0.3, -0.2),
        (["dull", "dark"], "treble_db", 0.2, 0.3),
        (["narrow", "not wide enough"], "width", 0.05, 0.10),
        (["too wide", "phasey"], "width", -0.10, -0.05),
    ],
)
def test_parameter_rule_fires_exactly_at_its_threshold(
    comments: list[str], parameter: str, low: float, high: float
) -> None:
    report = analyse(batch(comments))
    [recommendation] = report.recommendations
    assert recommendation.kind == "parameter"
    assert recommendation.parameter == parameter
    assert (recommendation.low, recommendation.high) == pytest.approx((low, high))
    assert recommendation.low < recommendation.high
    assert recommendation.midpoint == pytest.approx((low + high) / 2)
    assert recommendation.evidence == tuple(f"s{i}" for i in range(len(comments)))


@pytest.mark.parametrize(
    "comments",
    [["thin", "more bass"], ["boomy", "muddy"], ["harsh"], ["dull"], ["narrow"], ["too wide"]],
)
def test_parameter_rule_is_silent_just_below_its_threshold(comments: list[str]) -> None:
    assert analyse(batch(comments)).recommendations == []


def test_two_harsh_comments_in_five_samples() -> None:
    report = analyse(batch(["harsh", "a bit too bright"]))
    recommendation = parameter_recommendations(report)["treble_db"]
    assert (recommendation.low, recommendation.high) == pytest.approx((-0.3, -0.2))
    assert recommendation.midpoint == pytest.approx(-0.25)
    assert recommendation.evidence == ("s0", "s1")
    assert "2 of 2 comments" in recommendation.reason
    assert '"harsh" ×1' in recommendation.reason


def test_the_rule_uses_the_net_count() -> None:
    below = analyse(batch(["more bass"] * 4 + ["muddy"] * 2, total=6))
    assert below.wants[BASS_UP] == 4
    assert below.wants[BASS_DOWN] == 2
    assert "bass_db" not in parameter_recommendations(below)

    at = analyse(batch(["muddy", "more bass", "thin", "muddy", "no bass", "more bass", "thin"], total=7))
    recommendation = parameter_recommendations(at)["bass_db"]
    assert recommendation.low > 0
    assert recommendation.evidence == ("s1", "s2", "s4", "s5", "s6")
    assert "net +3" in recommendation.reason
    assert "5 of 7 comments" in recommendation.reason
    assert "2 wanted the opposite" in recommendation.reason


def test_net_cancellation_for_treble() -> None:
    report = analyse(batch(["harsh", "shrill", "dull"]))
    assert report.wants[TREBLE_DOWN] == 2
    assert report.recommendations == []


def test_a_sample_counts_once_per_direction() -> None:
    report = analyse(batch(["harsh, really harsh, harshness everywhere", "bright and piercing"]))
    assert report.wants[TREBLE_DOWN] == 2
    assert report.phrases["harsh"] == 1
    assert parameter_recommendations(report)["treble_db"].evidence == ("s0", "s1")

    single = analyse(batch(["harsh and bright and shrill"]))
    assert single.wants[TREBLE_DOWN] == 1
    assert single.recommendations == []


def test_reason_quotes_the_most_used_phrases_with_counts() -> None:
    report = analyse(batch(["thin", "thin", "more bass", "more bass", "no bass"], total=12))
    reason = parameter_recommendations(report)["bass_db"].reason
    assert reason.startswith("more bass wanted in 5 of 5 comments")
    assert '"thin" ×2' in reason
    assert '"more bass" ×2' in reason
    assert report.phrases == {"more bass": 2, "thin": 2, "no bass": 1}


def test_recommendations_need_min_samples() -> None:
    everything = "thin, harsh and narrow"
    small = analyse(batch([everything] * 4, total=4, rating=1))
    assert small.recommendations == []
    assert small.samples == 4
    assert small.average_rating == 1
    assert small.wants[BASS_UP] == small.wants[TREBLE_DOWN] == small.wants[WIDTH_UP] == 4

    enough = analyse(batch([everything] * 4, total=4, rating=1), min_samples=4)
    assert kinds(enough) == ["parameter", "parameter", "parameter", "widen_detection"]
    assert [r.parameter for r in enough.recommendations[:3]] == list(PARAMETERS)


# --- analyse: rating rules ------------------------------------------------------------------------------------------


def rated(counts: dict[int, int], confidence: float = 0.9) -> list[Sample]:
    ratings = [rating for rating, n in counts.items() for _ in range(n)]
    return [Sample(f"r{i}", rating, confidence) for i, rating in enumerate(ratings)]


def test_average_rating_below_three_and_a_half_widens_detection() -> None:
    samples = rated({4: 49, 3: 51})
    report = analyse(samples)
    assert report.average_rating == pytest.approx(3.49)
    [recommendation] = report.recommendations
    assert recommendation.kind == "widen_detection"
    assert recommendation.parameter is recommendation.low is recommendation.high is recommendation.midpoint is None
    assert recommendation.evidence == tuple(s.id for s in samples if s.rating == 3)
    assert "3.49" in recommendation.reason
    assert "51 of 100" in recommendation.reason


def test_average_rating_of_exactly_three_and_a_half_is_fine() -> None:
    report = analyse(rated({4: 50, 3: 50}))
    assert report.average_rating == 3.5
    assert report.recommendations == []


def test_high_rating_with_low_confidence_raises_the_threshold() -> None:
    report = analyse(rated({5: 31, 4: 69}, confidence=0.69))
    assert report.average_rating == pytest.approx(4.31)
    [recommendation] = report.recommendations
    assert recommendation.kind == "raise_confidence_threshold"
    assert recommendation.parameter is None
    assert len(recommendation.evidence) == 100
    assert "4.31" in recommendation.reason
    assert "0.69" in recommendation.reason


@pytest.mark.parametrize(
    ("counts", "confidence"),
    [({5: 31, 4: 69}, 0.7), ({5: 30, 4: 70}, 0.69)],
    ids=["confidence-0.7", "rating-4.30"],
)
def test_high_rating_rule_boundaries(counts: dict[int, int], confidence: float) -> None:
    assert analyse(rated(counts, confidence)).recommendations == []


def test_confidence_evidence_lists_only_the_unsure_samples() -> None:
    samples = [Sample(f"c{i}", 5, confidence) for i, confidence in enumerate((0.5, 0.95, 0.4, 0.69, 0.7))]
    [recommendation] = analyse(samples).recommendations
    assert recommendation.kind == "raise_confidence_threshold"
    assert recommendation.evidence == ("c0", "c2", "c3")


def test_rating_rules_also_need_min_samples() -> None:
    assert analyse(rated({1: 4})).recommendations == []
    assert kinds(analyse(rated({1: 5}))) == ["widen_detection"]


# --- analyse: shape of the report -----------------------------------------------------------------------------------


def test_empty_input() -> None:
    report = analyse([])
    assert report.samples == 0
    assert report.average_rating is None
    assert report.average_confidence is None
    assert report.phrases == {}
    assert set(report.wants.values()) == {0}
    assert report.recommendations == []
    assert json.loads(json.dumps(report.as_dict()))["samples"] == 0


def test_accepts_any_iterable() -> None:
    report = analyse(sample for sample in batch(["harsh", "harsh"]))
    assert report.samples == 5
    assert report.average_confidence == pytest.approx(0.9)
    assert kinds(report) == ["parameter"]


def test_as_dict_is_json_ready() -> None:
    report = analyse(batch(["thin", "thin", "more bass", "too wide"], rating=2))
    data = json.loads(json.dumps(report.as_dict()))
    assert data["samples"] == 5
    assert data["average_rating"] == 2
    assert data["wants"]["bass_db+"] == 3
    assert data["wants"]["bass_db-"] == 0
    assert data["wants"]["width-"] == 1
    assert data["phrases"] == {"thin": 2, "more bass": 1, "too wide": 1}
    bass, widen = data["recommendations"]
    assert bass["kind"] == "parameter"
    assert bass["parameter"] == "bass_db"
    assert bass["evidence"] == ["s0", "s1", "s2"]
    assert bass["midpoint"] == pytest.approx(0.4)
    assert widen["kind"] == "widen_detection"
    assert widen["low"] is None
    assert widen["evidence"] == [f"s{i}" for i in range(5)]


@pytest.mark.parametrize(("rating", "confidence"), [(0, 0.5), (6, 0.5), (3, -0.1), (3, 1.5)])
def test_sample_rejects_out_of_range_values(rating: int, confidence: float) -> None:
    with pytest.raises(ValueError):
        Sample("x", rating, confidence)
