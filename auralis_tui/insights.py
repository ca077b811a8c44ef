"""What the feedback says: per-type summaries with keyword patterns and recommendations,
monthly trends and the effectiveness of fixes. Reads through the DuckDB views (``store``)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from . import patterns, store

_SINCE = re.compile(r"^(\d+)([dwmy])$")
_DAYS = {"d": 1, "w": 7, "m": 30, "y": 365}


def parse_since(text: str, now: datetime | None = None) -> datetime:
    """``30d``, ``12w``, ``6m`` (30-day months), ``1y`` or an ISO date → a naive UTC instant."""
    now = (now or datetime.now(UTC)).astimezone(UTC).replace(tzinfo=None)
    match = _SINCE.match(text.strip().lower())
    if match:
        return now - timedelta(days=int(match[1]) * _DAYS[match[2]])
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"--since wants e.g. 30d, 12w, 6m, 1y or a date like 2026-01-31, not {text!r}") from None
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


@dataclass
class TypeSummary:
    """Ratings of one detected type: counts, averages, histogram, patterns and recommendations."""

    type: str
    samples: int
    average_rating: float | None
    average_confidence: float | None
    histogram: dict[int, int]
    patterns: patterns.PatternReport

    def as_dict(self) -> dict:
        report = self.patterns.as_dict()
        return {
            "type": self.type,
            "samples": self.samples,
            "average_rating": self.average_rating,
            "average_confidence": self.average_confidence,
            "histogram": {str(k): v for k, v in sorted(self.histogram.items())},
            "wants": report["wants"],
            "phrases": report["phrases"],
            "recommendations": report["recommendations"],
        }


def type_summaries(
    home: Path, since: datetime | None = None, kind: str | None = None, heard_under: tuple | None = None
) -> list[TypeSummary]:
    """One summary per detected type with ratings (just ``kind`` when given; only the ratings given
    to one (profile version, personal version) with ``heard_under``)."""
    store.sync_feedback(home)
    raw = store.rating_tallies(home, since, kind, heard_under=heard_under)
    histograms: dict[str, dict[int, int]] = {}
    for name, rating, count in raw["histogram"]:
        histograms.setdefault(name, {})[rating] = count
    wants: dict[str, dict] = {}
    for name, label, count, ids in raw["wants"]:
        key = (label[:-1], 1 if label.endswith("+") else -1)
        wants.setdefault(name, {})[key] = (count, tuple(ids))
    phrases: dict[str, dict] = {}
    for name, text, count in raw["phrases"]:
        label, phrase = text.split("|", 1)
        key = (label[:-1], 1 if label.endswith("+") else -1)
        phrases.setdefault(name, {}).setdefault(key, {})[phrase] = count
    summaries = []
    for name, samples, commented, rating, confidence, low, low_ids, unsure, unsure_ids in raw["summary"]:
        per_key = wants.get(name, {})
        tally = patterns.Tally(
            samples=samples,
            commented=commented,
            average_rating=rating,
            average_confidence=confidence,
            wants={key: count for key, (count, _) in per_key.items()},
            evidence={key: ids for key, (_, ids) in per_key.items()},
            phrases=phrases.get(name, {}),
            low_rated=low,
            low_rated_ids=tuple(low_ids or ()),
            unsure=unsure,
            unsure_ids=tuple(unsure_ids or ()),
        )
        summaries.append(
            TypeSummary(name, samples, rating, confidence, histograms.get(name, {}), patterns.report(tally))
        )
    return summaries


def monthly_summary(home: Path, since: datetime | None = None, kind: str | None = None) -> list[dict]:
    """Ratings per calendar month (UTC) and type: count, average rating and confidence."""
    store.sync_feedback(home)
    return store.monthly_ratings(home, since, kind)


def fix_effectiveness(home: Path, since: datetime | None = None) -> list[dict]:
    """Per type and fix parameter (and 'all' of each): decisions, accept / undo rates,
    effectiveness and the rating improvement after accepted fixes (the ``fix_effectiveness`` view)."""
    store.sync_feedback(home)
    return store.fix_effectiveness(home, since)


def confidence_summary(home: Path) -> list[dict]:
    """Per type: tracks whose confidence the feedback has updated, their average, and how many
    fell below the type's threshold (those are mastered as ``unknown``, which has none)."""
    from engine.detect import UNKNOWN

    from . import personal

    store.sync_feedback(home)
    current, _ = personal.effective_profiles(home)
    rows = []
    for kind, tracks, average, values in store.confidence_by_type(home):
        threshold = current[kind].min_confidence if kind in current and kind != UNKNOWN else 0.0
        below = sum(1 for value in values if value < threshold)
        rows.append({"type": kind, "tracks": tracks, "average": round(average, 3), "threshold": threshold,
                     "below_threshold": below})  # fmt: skip
    return rows

