"""Confidence updating: how sure Auralis stays that a track is of its detected type, as the
listener reacts to the mastering that type gets.

Folded per (track, type) over the feedback log as it is ingested (``store``): a track whose
fixes keep being undone or rejected falls below its type's ``min_confidence`` and is mastered
as ``unknown`` (the gentle profile) from then on (``rating.state_from``).
"""

from __future__ import annotations

LIMITS = (0.1, 0.99)
#: The events :func:`updated` acts on, as a SQL predicate over ``feedback_events``.
VERDICTS_SQL = (
    "(event IN ('accept', 'reject') OR event = 'rating' AND rating = 5 AND heard = 'mastered'"
    " OR event = 'undo' AND fix_parameter IS NOT NULL)"
)


def updated(
    confidence: float, event: str, rating: int | None = None, fix: str | None = None, heard: str = "mastered"
) -> float:
    """The confidence after one feedback event.

    A strong positive (a 5-star rating of the mastering, or an accepted fix) raises it by 5 % of the headroom to 1;
    undoing a fix multiplies it by 0.9, a reject by 0.95; anything else (an undo without a fix
    withdraws a rating) leaves it as it is. A change is clamped to [0.1, 0.99]."""
    if event == "accept" or (event == "rating" and rating == 5 and heard == "mastered"):
        confidence += 0.05 * (1.0 - confidence)
    elif event == "undo" and fix:
        confidence *= 0.9
    elif event == "reject":
        confidence *= 0.95
    else:
        return confidence
    low, high = LIMITS
    return min(high, max(low, confidence))
