"""The learning loop: degradation watch, fix effectiveness, fix events, processing after each event."""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from scipy import stats

from auralis_tui import confidence as confidence_rule
from auralis_tui import feedback, insights, learning, profiles, store
from engine.model import MasterParams

from conftest import settle, sine, stereo


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
    ratings_under(tmp_path, "2.0", [4, 5, 4, 5, 4, 4, 5, 4])
    return tmp_path


def test_worse_ratings_after_a_change_are_flagged(changed):
    after = [3, 2, 3, 3, 2, 3, 4, 2, 3, 3]
    ratings_under(changed, "2.1", after)
    (warning,) = learning.degradations(changed)
    assert (warning.kind, warning.current, warning.parent) == ("studio", "2.1", "2.0")
    reference = stats.ttest_ind(after, [4, 5, 4, 5, 4, 4, 5, 4], equal_var=False, alternative="less")
    assert warning.p == pytest.approx(reference.pvalue, rel=1e-9)
    assert "auralis profiles rollback studio" in warning.message()
    command = [sys.executable, "-m", "auralis_tui", "--home", str(changed), "analyze", "--json"]
    result = subprocess.run(command, capture_output=True, text=True)
    assert json.loads(result.stdout)["degradations"][0]["current"] == "2.1"


@pytest.mark.parametrize(
    "after",
    [[3, 2, 3, 3, 2, 3, 4, 2, 3], [4, 5, 4, 4, 5, 4, 5, 4, 4, 5], [5, 5, 5, 5, 5, 5, 5, 5, 5, 5]],
    ids=["only-9-ratings", "as-good", "better"],
)
def test_no_warning_without_evidence(changed, after):
    ratings_under(changed, "2.1", after)
    assert learning.degradations(changed) == []


def test_one_key_rollback_in_the_app(changed):
    from auralis_tui.ui.app import AuralisApp

    ratings_under(changed, "2.1", [3, 2, 3, 3, 2, 3, 4, 2, 3, 3])

    async def scenario() -> None:
        app = AuralisApp(changed, audio=False)
        async with app.run_test(size=(80, 24)) as pilot:
            def warned() -> bool:
                return bool(app.degraded) and any("rated worse" in n.message for n in app._notifications)

            await settle(app, pilot, warned, "the degradation warning")
            await pilot.press("R", "y")  # R asks before it rolls back
            await settle(app, pilot, lambda: profiles.current_version(changed, "studio") == "2.2", "the rollback")

    asyncio.run(scenario())
    assert profiles.current_version(changed, "studio") == "2.2"
    assert profiles.load(changed, "studio").master == profiles.load(changed, "studio", "2.0").master


# --- fix effectiveness and fix events -----------------------------------------------------------


def line(event: str = "rating", track: str = "/m/a.flac", minute: int = 0, kind: str = "studio", **fields) -> dict:
    return feedback.make_event(
        event, track_path=track, detected_type=kind, confidence=0.8, profile={"name": kind, "version": "2.0"},
        parameters_applied={}, when=datetime(2026, 5, 1, 12, minute, tzinfo=UTC), **fields,
    )  # fmt: skip


def bass(event: str, answered: dict, minute: int, **fields) -> dict:
    fix = {"parameter": "bass_db", "delta": 0.5}
    return line(event, answered["track_path"], minute, fix=fix, refers_to=answered["id"], **fields)


def test_fix_effectiveness_counts_rates_and_the_next_rating(tmp_path):
    a2, b3 = line(rating=2), line(track="/m/b.flac", rating=3, minute=1)
    lines = [a2, b3, bass("accept", a2, 2), bass("accept", b3, 3)]
    lines += [line(rating=4, minute=10), line(track="/m/b.flac", rating=3, minute=11), line(rating=1, minute=20)]
    c5 = line(track="/m/c.flac", rating=5, minute=4)
    lines += [c5, bass("reject", c5, 5), bass("undo", b3, 6), line("accept", "/m/c.flac", 7, kind="metal")]
    feedback.append(tmp_path, lines)
    rows = {(r["type"], r["parameter"]): r for r in insights.fix_effectiveness(tmp_path)}
    studio = rows["studio", "bass_db"]
    assert (studio["accepts"], studio["rejects"], studio["undos"], studio["decisions"]) == (2, 1, 1, 3)
    assert (studio["accept_rate"], studio["undo_rate"]) == (0.667, 0.5)
    assert studio["effectiveness"] == pytest.approx(1 / 3, abs=1e-3)  # two accepted, one of them undone
    # a: 2 → 4 (the *next* rating after the fix, not the later 1); b: 3 → 3
    assert (studio["improvement"], studio["improvement_samples"]) == (1.0, 2)
    assert rows["metal", "all"]["accepts"] == 1 and rows["metal", "all"]["improvement_samples"] == 0
    assert rows["all", "bass_db"]["decisions"] == 3
    since = insights.fix_effectiveness(tmp_path, since=datetime(2026, 5, 1, 12, 5))
    assert {(r["type"], r["parameter"], r["decisions"]) for r in since} >= {("studio", "bass_db", 1)}


def test_an_undo_without_a_parameter_withdraws_the_rating(tmp_path):
    kept, withdrawn = line(rating=5), line(rating=1, minute=1)
    feedback.append(tmp_path, [kept, withdrawn, line("undo", minute=2, refers_to=withdrawn["id"])])
    store.sync_feedback(tmp_path)
    assert store.run_user_query(tmp_path, "SELECT id FROM ratings").rows == [(kept["id"],)]
    assert store.run_user_query(tmp_path, "SELECT count(*) FROM fix_events").rows == [(0,)]
    assert store.latest_rating_id(tmp_path, "/m/a.flac") == kept["id"]


def auralis(home: Path, *args: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "auralis_tui", "--home", str(home), *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


def test_rate_events_from_the_command_line(tmp_path):
    song = tmp_path / "song.wav"
    sf.write(song, stereo(sine(220, 2.0, 44100)), 44100)
    home = tmp_path / "home"
    refused = auralis(home, "rate", str(song), "--event", "accept")
    assert refused.returncode == 1 and refused.stderr.count("\n") == 1 and "rate it first" in refused.stderr
    rated = json.loads(auralis(home, "rate", str(song), "--rating", "2", "--json").stdout)
    accepted = json.loads(auralis(home, "rate", str(song), "--event", "accept", "--json").stdout)
    assert accepted["refers_to"] == rated["id"] and accepted["fix"] == {"parameter": "profile", "delta": None}
    modify = auralis(home, "rate", str(song), "--event", "modify", "--parameter", "bass_db")
    assert modify.returncode == 1 and "needs the parameter and the delta" in modify.stderr
    modified = auralis(home, "rate", str(song), "--event", "modify", "--parameter", "bass_db", "--delta", "0.5")
    assert modified.returncode == 0 and "modify bass_db" in modified.stdout
    both = auralis(home, "rate", str(song), "--event", "undo", "--rating", "3")
    assert both.returncode == 1 and "--rating belongs to a rating" in both.stderr
    withdrawn = json.loads(auralis(home, "rate", str(song), "--event", "undo", "--json").stdout)
    assert "fix" not in withdrawn and withdrawn["refers_to"] == rated["id"]
    events = [e["event"] for e in feedback.read_log(home).events]
    assert events == ["rating", "accept", "modify", "undo"]
    table = auralis(home, "analyze").stdout
    assert "fix effectiveness" in table and "profile" in table and "bass_db" in table


def test_after_feedback_recomputes_tests_and_the_watch_on_one_connection(changed, monkeypatch):
    from auralis_tui import abtest

    abtest.start(changed, "bass", "studio@2.0", "studio@2.1", min_samples=2)
    ratings_under(changed, "2.1", [3, 2, 3, 3, 2, 3, 4, 2, 3, 3])
    opened = []
    real_attach = store._attach
    monkeypatch.setattr(store, "_attach", lambda *a: opened.append(a) or real_attach(*a))
    outcome = learning.after_feedback(changed)
    assert len(opened) == 1
    ((test, results),) = outcome.tests
    assert test.name == "bass" and results.arms["control"].n == 0  # ratings outside the test do not count
    assert [(d.kind, d.current) for d in outcome.degradations] == [("studio", "2.1")]


def decisions(home: Path, accepted: int, rejected: int) -> None:
    rated = line(rating=3)
    fixes = [bass("accept", rated, 1) for _ in range(accepted)] + [bass("reject", rated, 2) for _ in range(rejected)]
    feedback.append(home, [rated, *fixes])


def test_low_effectiveness_proposes_ranges_20_percent_wider(tmp_path):
    decisions(tmp_path, accepted=2, rejected=8)  # effectiveness 0.2
    before = profiles.load(tmp_path, "studio")
    proposal = learning.refine(tmp_path, "studio")
    assert proposal.version.path is None and profiles.current_version(tmp_path, "studio") == before.version
    changed = {c.key: c.new for c in proposal.version.changes}
    for rule in before.rules:
        low = changed.get(f"detect.{rule.feature}.low", rule.low)
        high = changed.get(f"detect.{rule.feature}.high", rule.high)
        assert high - low > rule.high - rule.low
        if rule.low > 0:  # a range at a feature's floor (a share at 0) stays there
            assert high - low == pytest.approx(1.2 * (rule.high - rule.low), rel=1e-4)
            assert (low + high) / 2 == pytest.approx((rule.low + rule.high) / 2, abs=1e-6)
    result = auralis(tmp_path, "profiles", "refine", "studio", "--accept")
    assert result.returncode == 0, result.stderr
    after = profiles.load(tmp_path, "studio")
    assert after.version != before.version and "widened by 20 %" in after.reason
    assert profiles.diff_profiles(before, after) == proposal.version.changes


def test_high_effectiveness_narrows_by_10_percent_and_the_middle_changes_nothing(tmp_path):
    decisions(tmp_path, accepted=10, rejected=0)
    before = {rule.feature: rule for rule in profiles.load(tmp_path, "studio").rules}
    changed = {c.key: c.new for c in learning.refine(tmp_path, "studio").version.changes}
    crest = before["crest_db"]
    assert changed["detect.crest_db.high"] - changed["detect.crest_db.low"] == pytest.approx(
        0.9 * (crest.high - crest.low)
    )
    middle = tmp_path / "middle"
    decisions(middle, accepted=6, rejected=4)
    with pytest.raises(learning.ProfileError, match="stay as they are"):
        learning.refine(middle, "studio")
    few = auralis(tmp_path / "few", "profiles", "refine", "studio")
    assert few.returncode == 1 and "needs 10" in few.stderr and few.stderr.count("\n") == 1


# --- simulation: a listener who wants more bass ---------------------------------------------------

SIM_BUDGET = 100  # ratings
STARS_PER_DB = 1.3  # of tilt he hears: 1 dB of the 100 Hz shelf moves the 30-120 Hz band 0.78 dB against the mids
# What this listener also says, in words the matcher does not know: those comments must count for nothing.
OWN_WORDS = {1: ("lacks oomph", "wimpy down low"), -1: ("tubby", "the kick drowns everything")}


class Listener:
    """Hears the mastered excerpt, never the parameters: he measures its bass tilt (30-120 Hz against
    0.5-2 kHz, dB) and compares it with the tilt of the sound he likes. About one star off per dB of
    bass (± noise); past 0.25 dB he says so, one time in three in his own words."""

    def __init__(self, excerpt: np.ndarray, rate: int, liked: dict, rng: np.random.Generator) -> None:
        self.excerpt, self.rate, self.rng = excerpt, rate, rng
        self._heard: dict[tuple, float] = {}
        self.liked = self.tilt(liked)

    def tilt(self, parameters: dict) -> float:
        key = tuple(sorted(parameters.items()))
        if key not in self._heard:  # the chain is deterministic: one render per distinct setting
            from engine.master import master

            out, _ = master(self.excerpt, self.rate, MasterParams(**parameters))
            spectrum = np.abs(np.fft.rfft(out.mean(axis=1) * np.hanning(len(out)))) ** 2
            freqs = np.fft.rfftfreq(len(out), 1.0 / self.rate)
            low, mid = spectrum[(freqs >= 30) & (freqs <= 120)], spectrum[(freqs >= 500) & (freqs <= 2000)]
            self._heard[key] = float(10 * np.log10(low.sum() / mid.sum()))
        return self._heard[key]

    def judge(self, parameters: dict) -> tuple[int, str]:
        error = self.tilt(parameters) - self.liked
        stars = int(np.clip(round(5 - STARS_PER_DB * abs(error) + self.rng.normal(0, 0.4)), 1, 5))
        if abs(error) <= 0.25:
            return stars, str(self.rng.choice(("spot on", "", "lovely")))
        direction = 1 if error < 0 else -1
        usual = ("a bit thin", "thin", "needs more bass", "") if direction > 0 else ("boomy", "muddy", "too much bass")
        words = usual if self.rng.random() > 1 / 3 else OWN_WORDS[direction]
        return stars, str(self.rng.choice(words))


@pytest.fixture(scope="module")
def studio_track() -> tuple[np.ndarray, list[float]]:
    from auralis_tui.synth import CHARACTERS, render
    from engine.fingerprint import fingerprint

    samples = render(CHARACTERS["studio"], 8.0, 44100, seed=3)
    return samples[2 * 44100 : 5 * 44100], list(fingerprint(samples, 44100).as_vector())


def test_the_listeners_own_words_are_outside_the_vocabulary():
    from auralis_tui.patterns import find_mentions

    assert [find_mentions(words) for group in OWN_WORDS.values() for words in group] == [[]] * 4


def test_a_listener_wanting_2_db_more_bass_gets_it_within_100_ratings(tmp_path, studio_track):
    """Patterns move the base profile in steps; a blind Thompson A/B test of the shipped version
    against the learnt one then adopts it. What he then hears lies within 0.4 dB of the tilt he likes
    (0.5 dB of shelf gain)."""
    from auralis_tui import abtest, personal, rating

    home, draws = tmp_path, random.Random(11)
    excerpt, vector = studio_track
    shipped = profiles.load(home, "studio").master
    liked = {**shipped.as_dict(), "bass_db": shipped.bass_db + 2.0}
    listener, given = Listener(excerpt, 44100, liked, np.random.default_rng(11)), []
    assert listener.tilt(shipped.as_dict()) < listener.liked - 1.0  # 2 dB of shelf: a difference he hears

    def rate_one() -> str:
        current, layer = personal.effective_profiles(home)
        state = rating.state_from(Path(f"/sim/{len(given)}.flac"), vector, current, layer)
        assert state.type == "studio"
        state = abtest.blind_state(home, state, draws)
        score, comment = listener.judge(state.parameters)
        given.append(rating.record(home, state, rating=score, comment=comment))
        learning.after_feedback(home)
        return state.variant

    while len(given) < 60:  # patterns: after every 6 ratings, apply what they recommend
        for _ in range(6):
            rate_one()
        with contextlib.suppress(learning.ProfileError):  # nothing recommended: keep listening
            learning.apply_patterns(home, "studio", to_base=True)
    learnt = profiles.current_version(home, "studio")
    assert abs(listener.tilt(profiles.load(home, "studio").master.as_dict()) - listener.liked) <= 0.4
    test = abtest.start(home, "bass", "studio@2.0", f"studio@{learnt}", bandit="thompson", min_samples=4)
    variants = []
    while len(given) < SIM_BUDGET and not abtest.results(home, test).recommendation.startswith("adopt"):
        variants.append(rate_one())
    assert abtest.results(home, test).recommendation.startswith("adopt"), (len(given), abtest.results(home, test))
    assert variants.count("treatment") >= variants.count("control")  # Thompson favours the better one (4 + 4 may do)
    assert abtest.stop(home, "bass", adopt=True)[2] == learnt  # already current: adopting keeps it
    heard = listener.tilt(profiles.load(home, "studio").master.as_dict())
    assert abs(heard - listener.liked) <= 0.4, (heard, listener.liked)


# --- confidence updating -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("confidence", "event", "rating", "fix", "expected"),
    [
        (0.6, "rating", 5, None, 0.6 + 0.05 * 0.4),
        (0.6, "accept", None, "bass_db", 0.62),
        (0.6, "undo", None, "profile", 0.54),
        (0.6, "undo", None, None, 0.6),  # withdrawing a rating is not a verdict on the fix
        (0.6, "reject", None, "profile", 0.57),
        (0.6, "rating", 4, None, 0.6),
        (1.0, "rating", 3, None, 1.0),  # no verdict, no change (not even the clamp)
        (0.985, "accept", None, "profile", 0.98575),
        (0.995, "accept", None, "profile", 0.99),  # clamped
        (0.105, "undo", None, "profile", 0.1),  # clamped
    ],
)
def test_confidence_updating(confidence, event, rating, fix, expected):
    assert confidence_rule.updated(confidence, event, rating, fix) == pytest.approx(expected)


def test_undone_fixes_lower_a_tracks_confidence_until_it_is_mastered_as_unknown(tmp_path):
    from auralis_tui import rating
    from auralis_tui.synth import CHARACTERS, render
    from engine import audio

    track = tmp_path / "riff.flac"
    audio.write(track, render(CHARACTERS["metal"], 6.0, 44100, seed=2), 44100)
    home = tmp_path / "home"
    first, state = rating.rate(home, track, 2)
    assert state.type == "metal"
    threshold = profiles.load(home, "metal").min_confidence
    expected = first["confidence"]
    while True:
        rating.fix(home, track, "undo", "profile")
        expected *= 0.9
        state = rating.track_state(home, track)
        assert state.confidence == pytest.approx(expected, abs=1e-3)  # recorded confidence is rounded
        if expected < threshold:
            break
        assert state.type == "metal"
    assert state.type == "unknown" and state.profile_name == "unknown" and state.matched == ()
    rating.fix(home, track, "accept", "profile")  # a verdict on the unknown treatment from now on
    assert store.learned_confidence(home, str(state.path))["metal"] == pytest.approx(expected, abs=1e-3)
    summary = {row["type"]: row for row in insights.confidence_summary(home)}
    assert summary["metal"]["below_threshold"] == 1 and summary["metal"]["threshold"] == threshold
    assert summary["unknown"]["below_threshold"] == 0  # it starts afresh under its new type
