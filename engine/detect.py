"""Recording-type detection driven entirely by profile data.

Each profile's ``[detect]`` rules give a range per fingerprint feature. A feature inside its
range scores 1; outside, its score falls linearly to 0 at half the range's width beyond the
nearest edge. A profile's score is the weighted mean of its feature scores, and the winner's
score is the confidence. Below the winner's own ``min_confidence`` the verdict is ``unknown``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from .fingerprint import Fingerprint
from .model import FeatureRule, Profile

UNKNOWN = "unknown"
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


@dataclass(frozen=True)
class Detection:
    """The verdict, every profile's score and the evidence behind each score."""

    type: str
    confidence: float
    best_profile: str
    scores: dict[str, float]
    evidence: dict[str, tuple[FeatureVerdict, ...]]

    def matched(self, profile: str | None = None) -> list[str]:
        return [v.feature for v in self.evidence[profile or self.best_profile] if v.matched]

    def missed(self, profile: str | None = None) -> list[str]:
        return [v.feature for v in self.evidence[profile or self.best_profile] if not v.matched]


def rule_score(rule: FeatureRule, value: float) -> float:
    """1 inside ``[low, high]``, linear fall-off to 0 at half the range width outside it."""
    if rule.low <= value <= rule.high:
        return 1.0
    tolerance = max(0.5 * (rule.high - rule.low), _MIN_TOLERANCE)
    distance = rule.low - value if value < rule.low else value - rule.high
    return max(0.0, 1.0 - distance / tolerance)


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


def detect(fingerprint: Fingerprint, profiles: Mapping[str, Profile]) -> Detection:
    """Classify ``fingerprint`` against every detectable profile."""
    evidence = {name: explain(fingerprint, p) for name, p in profiles.items() if p.detectable}
    if not evidence:
        return Detection(UNKNOWN, 0.0, UNKNOWN, {}, {})
    scores = {name: profile_score(verdicts) for name, verdicts in evidence.items()}
    best = max(scores, key=lambda name: scores[name])
    confidence = scores[best]
    verdict = best if confidence >= profiles[best].min_confidence else UNKNOWN
    return Detection(verdict, confidence, best, scores, evidence)
