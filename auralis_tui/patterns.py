"""Keyword patterns in rating comments, and the profile changes they suggest.

Pure text analysis: no I/O, no audio, no database.
"""

from __future__ import annotations

import bisect
import functools
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from statistics import fmean

PARAMETERS = ("bass_db", "treble_db", "width")

_Key = tuple[str, int]
_KEYS: tuple[_Key, ...] = tuple((parameter, direction) for parameter in PARAMETERS for direction in (1, -1))

# Stand-alone complaints: the adjective says which way the listener wants the parameter to move.
_ADJECTIVES: dict[_Key, tuple[str, ...]] = {
    ("bass_db", 1): ("thin", "bass-light", "bass-shy", "anemic", "anaemic", "tinny"),
    ("bass_db", -1): ("boomy", "muddy", "bass-heavy", "bloated", "bassy"),
    ("treble_db", 1): ("dull", "dark", "muffled", "veiled"),
    ("treble_db", -1): (
        "harsh", "bright", "too bright", "too crisp", "sibilant", "sibilance", "shrill", "piercing", "fatiguing",
        "brittle",
    ),
    ("width", 1): ("narrow", "wider", "cramped"),
    ("width", -1): ("too wide", "phasey", "phasy", "out of phase"),
}

# Nouns naming each parameter, combined with a "wants more" or "wants less" lead-in ("more bass", "too much air").
_NOUNS: dict[str, tuple[str, ...]] = {
    "bass_db": ("bass", "low end", "bottom end", "lows", "sub bass"),
    "treble_db": ("treble", "highs", "top end", "air", "sparkle", "brightness"),
    "width": ("width", "stereo width", "stereo"),
}
_MORE = ("more", "needs", "lacks", "lacking", "lack of", "not enough", "missing", "weak", "no", "hardly any")
_RAISE = ("boost", "boost the", "turn up", "turn up the")
_LOWER = ("less", "too much", "to much", "reduce", "reduce the", "cut", "cut the", "turn down", "turn down the")
_LEAD_INS: dict[int, tuple[str, ...]] = {1: _MORE + _RAISE, -1: (*_LOWER, "overpowering")}

# "not X enough" (also "isn't quite X enough") asks for the opposite of X: "not bright enough" wants more treble.
_NOT_ENOUGH: dict[_Key, tuple[str, ...]] = {
    ("bass_db", 1): ("bassy", "warm", "full"),
    ("treble_db", 1): ("bright", "crisp", "airy"),
    ("treble_db", -1): ("dark", "smooth"),
    ("width", 1): ("wide", "spacious"),
}


def _build_vocabulary() -> dict[_Key, tuple[str, ...]]:
    """Every canonical phrase per (parameter, direction): adjectives, lead-in + noun, then "not X enough"."""
    vocabulary = {}
    for parameter, direction in _KEYS:
        nouns = tuple(f"{lead} {noun}" for lead in _LEAD_INS[direction] for noun in _NOUNS[parameter])
        enough = tuple(f"not {word} enough" for word in _NOT_ENOUGH.get((parameter, direction), ()))
        vocabulary[(parameter, direction)] = _ADJECTIVES[(parameter, direction)] + nouns + enough
    return vocabulary


VOCABULARY: dict[tuple[str, int], tuple[str, ...]] = _build_vocabulary()

_SEP = r"[\s-]+"  # "bass-light" and "bass light" are the same phrase
_NOT = r"not|never|(?:is|was|are|were)n'?t"
_DEGREE = r"(?:quite|really|very|nearly|that|so)"
_NEGATORS = r"not|never|hardly|without|no\s+longer|(?:is|was|are|were|does|do|did)n'?t"
# A negator up to two words before a term cancels it; a bare "no" only directly before it ("no harshness").
_NEGATED = re.compile(rf"(?:\b(?:{_NEGATORS})(?:\s+[\w'-]+){{0,2}}|\bno)\s+$")
_ENOUGH_AFTER = re.compile(r"\s+enough\b")  # "bright enough" is praise, not a complaint
_NEGATION_REACH = 100  # characters before a term searched for a negator
ANALYSED_CHARS = 4096  # ≥ feedback.COMMENT_LIMIT (bytes): a comment kept whole is analysed whole
_CLAUSE_BREAK = re.compile(r"[,.;:!?()\n\u2013\u2014]|\b(?:but|though|although|however)\b")


def _word_regex(word: str) -> str:
    """A single word plus its noun form: harsh/harshness, muddy/muddiness."""
    if word.endswith("y"):
        return rf"{re.escape(word[:-1])}(?:y|iness)"
    return rf"{re.escape(word)}(?:ness)?"


def _phrase_regex(phrase: str) -> str:
    """The regex source for one canonical phrase."""
    words = re.split(_SEP, phrase)
    if len(words) == 1:
        return _word_regex(phrase)
    if len(words) == 3 and words[0] == "not" and words[2] == "enough":
        return rf"(?:{_NOT}){_SEP}(?:{_DEGREE}{_SEP})?{re.escape(words[1])}{_SEP}enough"
    return _SEP.join(map(re.escape, words))


def _key_pattern(phrases: tuple[str, ...]) -> re.Pattern[str]:
    """One whole-word alternation per key, longest phrase first so it wins at a shared start."""
    ordered = sorted(phrases, key=len, reverse=True)
    return re.compile(rf"\b(?:{'|'.join(map(_phrase_regex, ordered))})\b")


@functools.cache
def _patterns() -> dict[_Key, re.Pattern[str]]:
    """The compiled vocabulary, built at the first comment read (a process that only reads the
    database's mentions, like ``rate`` or ``analyze``, never pays for it)."""
    return {key: _key_pattern(phrases) for key, phrases in VOCABULARY.items()}


@dataclass(frozen=True)
class Mention:
    """One request found in a comment: move ``parameter`` in ``direction`` (+1 more, -1 less)."""

    parameter: str
    direction: int
    phrase: str


def _clauses(comment: str) -> list[str]:
    """Lower-cased clauses; negation never reaches across punctuation or "but"."""
    text = comment.lower().replace("\u2019", "'")
    return [" ".join(clause.split()) for clause in _CLAUSE_BREAK.split(text)]  # one space between words


def _cancelled(clause: str, start: int, end: int) -> bool:
    """True when the term at clause[start:end] is negated or called sufficient ("bright enough").

    Only the few words before the term (at most ``_NEGATION_REACH`` characters) are searched, so
    each check costs the same however long the comment: matching stays linear."""
    floor = max(0, start - _NEGATION_REACH)
    window = start
    for _ in range(5):  # the space before the term, then back over a negator ("no longer": two) and two words
        window = clause.rfind(" ", floor, window)
        if window < 0:
            window = floor
            break
    return bool(_NEGATED.search(clause, window, start) or _ENOUGH_AFTER.match(clause, end))


def _clause_mentions(clause: str) -> list[Mention]:
    """Mentions in one clause; where matches overlap the longest one wins."""
    candidates = [(m.start(), m.end(), key) for key, pattern in _patterns().items() for m in pattern.finditer(clause)]
    chosen: list[tuple[int, int, _Key]] = []  # non-overlapping, ordered by start
    for start, end, key in sorted(candidates, key=lambda c: (c[0] - c[1], c[0])):
        at = bisect.bisect(chosen, (start,))
        if (at == 0 or chosen[at - 1][1] <= start) and (at == len(chosen) or end <= chosen[at][0]):
            chosen.insert(at, (start, end, key))
    return [
        Mention(parameter, direction, " ".join(clause[start:end].split()))
        for start, end, (parameter, direction) in chosen
        if not _cancelled(clause, start, end)
    ]


def _all_mentions(comment: str) -> Iterator[Mention]:
    """Every mention in reading order, repeats included, in the first ``ANALYSED_CHARS`` of the
    comment (the app and `auralis rate` keep no more; an older, longer line is read that far)."""
    for clause in _clauses(comment[:ANALYSED_CHARS]):
        yield from _clause_mentions(clause)


def distinct_mentions(comment: str) -> list[Mention]:
    """Every distinct (parameter, direction, phrase) in reading order: what the tally counts."""
    return list(dict.fromkeys(_all_mentions(comment)))


def key_label(parameter: str, direction: int) -> str:
    """The text form of a (parameter, direction) key: "bass_db+" or "bass_db-"."""
    return f"{parameter}{'+' if direction > 0 else '-'}"


def find_mentions(comment: str) -> list[Mention]:
    """At most one mention per (parameter, direction), in order of first appearance."""
    first: dict[_Key, Mention] = {}
    for mention in _all_mentions(comment):
        first.setdefault((mention.parameter, mention.direction), mention)
    return list(first.values())


@dataclass(frozen=True)
class Sample:
    """One rating event: a 1..5 rating, the detection confidence and an optional comment."""

    id: str
    rating: int
    confidence: float
    comment: str = ""

    def __post_init__(self) -> None:
        if not 1 <= self.rating <= 5:
            raise ValueError(f"rating must be 1..5, got {self.rating}")
        if not 0.0 <= self.confidence <= 1.0:
            raise ValueError(f"confidence must be 0..1, got {self.confidence}")


@dataclass(frozen=True)
class Recommendation:
    """A suggested profile change (a delta range for one parameter) or a detection adjustment."""

    kind: str
    parameter: str | None
    low: float | None
    high: float | None
    reason: str
    evidence: tuple[str, ...]

    @property
    def midpoint(self) -> float | None:
        """The middle of the suggested range, or None when there is no range."""
        if self.low is None or self.high is None:
            return None
        return (self.low + self.high) / 2

    def as_dict(self) -> dict:
        """JSON-ready form, midpoint included."""
        return {
            "kind": self.kind,
            "parameter": self.parameter,
            "low": self.low,
            "high": self.high,
            "midpoint": self.midpoint,
            "reason": self.reason,
            "evidence": list(self.evidence),
        }


@dataclass(frozen=True)
class PatternReport:
    """What a set of samples says: averages, how often each change was asked for, and recommendations."""

    samples: int
    average_rating: float | None
    average_confidence: float | None
    wants: dict[tuple[str, int], int]
    phrases: dict[str, int]
    recommendations: list[Recommendation]

    def as_dict(self) -> dict:
        """JSON-ready form; wants keys become "bass_db+" / "bass_db-"."""
        return {
            "samples": self.samples,
            "average_rating": self.average_rating,
            "average_confidence": self.average_confidence,
            "wants": {key_label(*key): n for key, n in self.wants.items()},
            "phrases": dict(self.phrases),
            "recommendations": [recommendation.as_dict() for recommendation in self.recommendations],
        }


@dataclass(frozen=True)
class _Rule:
    """Net mentions needed for a parameter, and the delta range suggested in the "more" direction."""

    threshold: int
    low: float
    high: float


_RULES: dict[str, _Rule] = {
    "bass_db": _Rule(3, 0.3, 0.5),
    "treble_db": _Rule(2, 0.2, 0.3),
    "width": _Rule(2, 0.05, 0.10),
}
_LOW_AVERAGE_RATING = 3.5
LOW_RATING = 3  #: ratings at or below this are evidence that detection misfires
_HIGH_AVERAGE_RATING = 4.3
LOW_CONFIDENCE = 0.7  #: detections below this are evidence for a higher confidence threshold
_PHRASES_IN_REASON = 3


@dataclass(frozen=True)
class Tally:
    """Everything the rules need about a set of samples, counted from samples or aggregated in SQL.

    Id lists may be truncated (the database keeps the most recent ones); the counts never are.
    """

    samples: int
    commented: int
    average_rating: float | None
    average_confidence: float | None
    wants: dict[_Key, int]
    evidence: dict[_Key, tuple[str, ...]]
    phrases: dict[_Key, dict[str, int]]
    low_rated: int = 0
    low_rated_ids: tuple[str, ...] = ()
    unsure: int = 0
    unsure_ids: tuple[str, ...] = ()


def tally(samples: Iterable[Sample]) -> Tally:
    """Count each sample at most once per (parameter, direction) and once per phrase."""
    samples = list(samples)
    supporters: dict[_Key, list[str]] = {key: [] for key in _KEYS}
    phrases: dict[_Key, Counter[str]] = {key: Counter() for key in _KEYS}
    for sample in samples:
        found = distinct_mentions(sample.comment)
        for key in {(mention.parameter, mention.direction) for mention in found}:
            supporters[key].append(sample.id)
        for mention in found:
            phrases[(mention.parameter, mention.direction)][mention.phrase] += 1
    low_rated = tuple(sample.id for sample in samples if sample.rating <= LOW_RATING)
    unsure = tuple(sample.id for sample in samples if sample.confidence < LOW_CONFIDENCE)
    return Tally(
        samples=len(samples),
        commented=sum(1 for sample in samples if sample.comment.strip()),
        average_rating=fmean(s.rating for s in samples) if samples else None,
        average_confidence=fmean(s.confidence for s in samples) if samples else None,
        wants={key: len(ids) for key, ids in supporters.items()},
        evidence={key: tuple(ids) for key, ids in supporters.items()},
        phrases={key: dict(counter) for key, counter in phrases.items()},
        low_rated=len(low_rated),
        low_rated_ids=low_rated,
        unsure=len(unsure),
        unsure_ids=unsure,
    )


def _parameter_recommendation(parameter: str, counts: Tally) -> Recommendation | None:
    """A delta range when net mentions (wanting more minus wanting less) reach the rule's threshold."""
    rule = _RULES[parameter]
    more, less = counts.wants.get((parameter, 1), 0), counts.wants.get((parameter, -1), 0)
    net = more - less
    if abs(net) < rule.threshold:
        return None
    direction = 1 if net > 0 else -1
    winners, losers = (more, less) if direction > 0 else (less, more)
    low, high = (rule.low, rule.high) if direction > 0 else (-rule.high, -rule.low)
    top = Counter(counts.phrases.get((parameter, direction), {})).most_common(_PHRASES_IN_REASON)
    quoted = ", ".join(f'"{phrase}" ×{n}' for phrase, n in top)
    label = f"{'more' if direction > 0 else 'less'} {parameter.removesuffix('_db')}"
    reason = (
        f"{label} wanted in {winners} of {counts.commented} comments ({quoted}); "
        f"{losers} wanted the opposite, net {net:+d}"
    )
    return Recommendation("parameter", parameter, low, high, reason, counts.evidence.get((parameter, direction), ()))


def _rating_recommendations(counts: Tally) -> list[Recommendation]:
    """Detection adjustments driven by the average rating and average confidence."""
    rating, confidence = counts.average_rating, counts.average_confidence
    if rating is None or confidence is None:
        return []
    if rating < _LOW_AVERAGE_RATING:
        reason = (
            f"average rating {rating:.2f} is below {_LOW_AVERAGE_RATING}: "
            f"{counts.low_rated} of {counts.samples} samples rated {LOW_RATING} or lower"
        )
        return [Recommendation("widen_detection", None, None, None, reason, counts.low_rated_ids)]
    if rating > _HIGH_AVERAGE_RATING and confidence < LOW_CONFIDENCE:
        reason = (
            f"average rating {rating:.2f} is above {_HIGH_AVERAGE_RATING} but average confidence is {confidence:.2f}: "
            f"{counts.unsure} of {counts.samples} samples detected below {LOW_CONFIDENCE} confidence"
        )
        return [Recommendation("raise_confidence_threshold", None, None, None, reason, counts.unsure_ids)]
    return []


def recommend(counts: Tally, min_samples: int = 5) -> list[Recommendation]:
    """Profile changes the tally supports.

    Each sample counts at most once per (parameter, direction). For each parameter the *net* count is
    samples wanting more minus samples wanting less, so opposing comments cancel out. Rules, applied only
    when at least ``min_samples`` samples were counted:

    - bass_db: net >= +3 suggests +0.3..+0.5 dB; symmetrically net <= -3 (boomy/muddy) suggests -0.5..-0.3 dB.
    - treble_db: net <= -2 (harsh/bright) suggests -0.3..-0.2 dB; symmetrically net >= +2 (dull/dark) +0.2..+0.3 dB.
    - width: net >= +2 (narrow) suggests +0.05..+0.10; symmetrically net <= -2 (too wide/phasey) -0.10..-0.05.
    - average rating < 3.5: widen_detection, citing the samples rated 3 or lower.
    - average rating > 4.3 with average confidence < 0.7: raise_confidence_threshold, citing samples below 0.7.

    Parameter recommendations cite the samples asking for the winning direction.
    """
    if counts.samples == 0 or counts.samples < min_samples:
        return []
    found = (_parameter_recommendation(parameter, counts) for parameter in PARAMETERS)
    return [recommendation for recommendation in found if recommendation is not None] + _rating_recommendations(
        counts
    )


def report(counts: Tally, min_samples: int = 5) -> PatternReport:
    """The tally as a report with its recommendations."""
    phrases: Counter[str] = Counter()
    for per_key in counts.phrases.values():
        phrases.update(per_key)
    return PatternReport(
        samples=counts.samples,
        average_rating=counts.average_rating,
        average_confidence=counts.average_confidence,
        wants={key: counts.wants.get(key, 0) for key in _KEYS},
        phrases=dict(sorted(phrases.items(), key=lambda item: (-item[1], item[0]))),
        recommendations=recommend(counts, min_samples),
    )


def analyse(samples: Iterable[Sample], min_samples: int = 5) -> PatternReport:
    """Summarise samples and recommend profile changes (see :func:`recommend` for the rules)."""
    return report(tally(samples), min_samples)
