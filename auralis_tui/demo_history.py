"""Six months of plausible listening for the demo: ratings with comments, fix decisions, and a
profile change half-way (studio 2.0 → 2.1, more bass) that the later ratings reward.

Deterministic: a fixed seed and a fixed calendar (June–November 2026)."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from . import feedback, profiles
from .rating import TrackState, event_line, track_state
from .versioned import next_version

START = datetime(2026, 6, 1, 19, 0, tzinfo=UTC)
DAYS = 182
CHANGE_DAY = 91  # the studio profile gets more bass here

#: Per detected type: usual ratings and what a listener tends to say.
TASTE: dict[str, tuple[tuple[int, ...], tuple[str, ...]]] = {
    "studio_hd_bright": ((5, 5, 4, 4, 5, 3), ("crisp and open", "", "lovely air on the cymbals", "a bit bright")),
    "studio": ((4, 3, 4, 3, 5, 4), ("a bit thin", "needs more bass", "", "thin on the low end", "nice mids")),
    "metal": ((4, 3, 3, 4, 2, 4), ("harsh cymbals", "too bright", "", "heavy, good", "shrill guitars")),
    "bootleg": ((3, 2, 3, 4, 2, 3), ("muffled", "too dark", "", "crowd is fine, vocals dull", "boomy")),
    "live": ((4, 4, 5, 3, 4), ("great room", "", "a bit narrow", "nice and wide")),
    "vintage": ((3, 4, 3, 2, 4), ("narrow but charming", "dull", "", "too narrow")),
}
HAPPIER_AFTER_CHANGE = {"studio": (5, 4, 4, 5, 4, 4)}
COMMENTS_AFTER_CHANGE = {"studio": ("full and warm now", "", "much better low end", "good")}


def build_history(home: Path, tracks: list[Path]) -> int:
    """Write the demo's feedback log and its second profile version (once); returns events written."""
    if feedback.log_path(home).exists() or not tracks:
        return 0
    rng = random.Random(2026)
    states = {path: track_state(home, path) for path in tracks}
    lines = []
    for day in range(DAYS):
        for _ in range(rng.choice((0, 1, 1, 2))):
            state = states[rng.choice(tracks)]
            when = START + timedelta(days=day, minutes=rng.randrange(240))
            if day >= CHANGE_DAY and state.type == "studio":
                state = _after_change(state)
            lines.append(_rating(state, day, when, rng))
            if rng.random() < 0.25:
                lines.append(_fix(state, lines[-1], when + timedelta(seconds=40), rng))
        if day == CHANGE_DAY:
            feedback.append(home, lines)
            lines = []
            profiles.update(home, "studio", {"bass_db": 1.9}, "demo: 'thin' / 'more bass' in studio comments")
    feedback.append(home, lines)
    return sum(1 for _ in feedback.read_log(home).events)


def _after_change(state: TrackState) -> TrackState:
    version = next_version(state.profile_version)  # the version profiles.update writes on CHANGE_DAY
    return replace(state, profile_version=version, parameters={**state.parameters, "bass_db": 1.9})


def _rating(state: TrackState, day: int, when: datetime, rng: random.Random) -> dict:
    ratings, comments = TASTE.get(state.type, ((3, 4), ("",)))
    if day >= CHANGE_DAY and state.type in HAPPIER_AFTER_CHANGE:
        ratings, comments = HAPPIER_AFTER_CHANGE[state.type], COMMENTS_AFTER_CHANGE[state.type]
    return event_line(state, "rating", when, rating=rng.choice(ratings), comment=rng.choice(comments))


def _fix(state: TrackState, rating: dict, when: datetime, rng: random.Random) -> dict:
    parameter = rng.choice(("bass_db", "treble_db", "width"))
    delta = {"bass_db": 0.4, "treble_db": -0.25, "width": 0.08}[parameter]
    event = rng.choices(("accept", "reject", "undo", "modify"), weights=(6, 2, 1, 1))[0]
    return event_line(state, event, when, fix={"parameter": parameter, "delta": delta}, refers_to=rating["id"])
