"""Recording-type detection driven by profile data, which abstains when the evidence is thin.

Each profile's ``[detect]`` rules give a range per fingerprint feature. A value inside its
range matches (score 1). Outside, the score falls linearly to 0 within a tolerance of a
quarter of the range's width, capped at 0.3 decades for energy shares, which are compared
on a log scale (an air share 6× below its range scores 0, not 0.85). A profile's score is the
weighted mean of its rule scores.

The best-scoring profile wins only when all of these hold; otherwise the verdict is
``unknown`` (the neutral chain) and :attr:`Detection.reason` says why:

* its score reaches the profile's ``min_confidence``;
* at least ``min_matched`` of its rules match (default: two thirds of them, at least two);
* it leads the runner-up by at least ``min_margin`` (default 0.1);
* a profile with a strong EQ (|bass| or |treble| ≥ 3 dB) needs stronger evidence: a score of
  at least 0.85 and at most one missed rule, because a wrong verdict there audibly tilts the
  track.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from .features import BAND_NAMES, Fingerprint
from .model import FeatureRule, Profile

UNKNOWN = "unknown"
LOG_FEATURES = frozenset(BAND_NAMES)  # energy shares: compared on a log scale
LOG_FLOOR = 1e-4  # shares below this count as this (log10 → −4)
TOLERANCE_SHARE = 0.25  # of a range's width, beyond its edge, where the score reaches 0
LOG_TOLERANCE_CAP = 0.3  # decades (a factor of 2)
STRONG_EQ_DB = 3.0
STRONG_EQ_CONFIDENCE = 0.85
STRONG_EQ_MAX_MISSED = 1
_MIN_TOLERANCE = 1e-9


@dataclass(frozen=True)
class FeatureVerdict:
    """How one fingerprint value compares with one rule."""

    feature: str
    value: float
    low: float
    high: float
    weight: float
    score: float  # 1 inside the range, falling to 0 outside

    @property
    def matched(self) -> bool:
        return self.score >= 1.0

    def as_dict(self) -> dict[str, float | str | bool]:
        return {"feature": self.feature, "value": self.value, "low": self.low, "high": self.high,
                "matched": self.matched}  # fmt: skip


@dataclass(frozen=True)
class Detection:
    """The verdict, every profile's score and the evidence behind each score."""

    type: str
    confidence: float
    best_profile: str
    scores: dict[str, float]
    evidence: dict[str, tuple[FeatureVerdict, ...]]
    reason: str = ""  # why the best profile was not taken (empty when it was)

    def matched(self, profile: str | None = None) -> list[str]:
        return [v.feature for v in self.evidence[profile or self.best_profile] if v.matched]

    def missed(self, profile: str | None = None) -> list[str]:
        return [v.feature for v in self.evidence[profile or self.best_profile] if not v.matched]

    def rules(self, profile: str | None = None) -> dict[str, list[dict]]:
        """Matched and missed rules of ``profile`` (default: the best) with their values and ranges."""
        verdicts = self.evidence.get(profile or self.best_profile, ())
        return {
            "matched": [v.as_dict() for v in verdicts if v.matched],
            "missed": [v.as_dict() for v in verdicts if not v.matched],
        }


def _scaled(feature: str, value: float) -> float:
    return math.log10(max(value, LOG_FLOOR)) if feature in LOG_FEATURES else value


def rule_score(rule: FeatureRule, value: float) -> float:
    """1 inside ``[low, high]``; outside, a linear fall to 0 within the rule's tolerance."""
    if rule.low <= value <= rule.high:
        return 1.0
    low, high, x = (_scaled(rule.feature, v) for v in (rule.low, rule.high, value))
    tolerance = TOLERANCE_SHARE * (high - low)
    if rule.feature in LOG_FEATURES:
        tolerance = min(tolerance, LOG_TOLERANCE_CAP)
    distance = low - x if x < low else x - high
    return max(0.0, 1.0 - distance / max(tolerance, _MIN_TOLERANCE))


def explain(fingerprint: Fingerprint, profile: Profile) -> tuple[FeatureVerdict, ...]:
    """Score every rule of ``profile`` against ``fingerprint``."""
    values = fingerprint.as_dict()
    return tuple(
        FeatureVerdict(r.feature, values[r.feature], r.low, r.high, r.weight, rule_score(r, values[r.feature]))
        for r in profile.rules
    )


def profile_score(verdicts: tuple[FeatureVerdict, ...]) -> float:
    total = sum(v.weight for v in verdicts)
    return sum(v.weight * v.score for v in verdicts) / total if total else 0.0


def strong_eq(profile: Profile) -> bool:
    """True when a wrong verdict would audibly tilt the track (|bass| or |treble| ≥ 3 dB)."""
    return max(abs(profile.master.bass_db), abs(profile.master.treble_db)) >= STRONG_EQ_DB


def _objection(profile: Profile, verdicts: tuple[FeatureVerdict, ...], score: float, runner_up: float) -> str:
    """Why ``profile`` may not win with ``score`` (empty when it may)."""
    matched = sum(v.matched for v in verdicts)
    if score < profile.min_confidence:
        return f"confidence {score:.2f} below {profile.min_confidence:.2f}"
    if matched < profile.min_matched:
        return f"{matched} of {len(verdicts)} rules matched, {profile.min_matched} needed"
    if score - runner_up < profile.min_margin:
        return f"lead over the runner-up {score - runner_up:.2f} below {profile.min_margin:.2f}"
    if strong_eq(profile):
        if score < STRONG_EQ_CONFIDENCE:
            return f"strong EQ needs confidence {STRONG_EQ_CONFIDENCE:.2f}, got {score:.2f}"
        if len(verdicts) - matched > STRONG_EQ_MAX_MISSED:
            return f"strong EQ allows {STRONG_EQ_MAX_MISSED} missed rule, {len(verdicts) - matched} missed"
    return ""


def detect(fingerprint: Fingerprint, profiles: Mapping[str, Profile]) -> Detection:
    """Classify ``fingerprint`` against every detectable profile (``unknown`` when unsure)."""
    evidence = {name: explain(fingerprint, p) for name, p in profiles.items() if p.detectable}
    if not evidence:
        return Detection(UNKNOWN, 0.0, UNKNOWN, {}, {}, "no detectable profile")
    scores = {name: profile_score(verdicts) for name, verdicts in evidence.items()}
    ranked = sorted(scores, key=lambda name: scores[name], reverse=True)
    best = ranked[0]
    runner_up = scores[ranked[1]] if len(ranked) > 1 else 0.0
    reason = _objection(profiles[best], evidence[best], scores[best], runner_up)
    return Detection(UNKNOWN if reason else best, scores[best], best, scores, evidence, reason)
