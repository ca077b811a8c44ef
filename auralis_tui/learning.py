"""The learning loop: turning what the feedback says into new profile or personal-layer versions.

After every rating the CLI and the app call :func:`after_feedback`; it and :func:`degradations` need
no numpy, tomlkit or audio code, which the functions that decode or write import themselves."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from engine.errors import ProfileError

from . import insights, personal, profiles


@dataclass(frozen=True)
class Applied:
    """What an application of pattern recommendations changed."""

    target: str  # "personal layer" or "<type> profile"
    version: str
    changes: list[tuple[str, float, float]]  # (parameter, old, new)
    reason: str


def apply_patterns(home: Path, kind: str, to_base: bool = False, dry_run: bool = False) -> Applied:
    """Apply the midpoint of every parameter recommendation for ``kind``.

    The evidence is the ratings given to the mastering in use now (current profile version and
    personal layer), so a change is never applied twice for the same comments. To the personal
    layer by default (``[adjust.<kind>]`` deltas), or to the base profile as a new validated
    version with ``to_base``. The reason names the evidence.
    """
    layer = personal.current(home)
    heard, summary, recommendations = _recommended_now(home, kind, layer)
    if not recommendations:
        samples = summary.samples if summary else 0
        raise ProfileError(
            f"no pattern recommendations for {kind} under its current settings yet ({kind} {heard[0]}, "
            f"personal layer {heard[1] or 'none'}: {samples} rating(s); at least 5 and repeated keywords "
            f"are needed): see `auralis analyze --type {kind}`"
        )
    evidence = "; ".join(f"{r.parameter} {r.midpoint:+.2f}: {r.reason}" for r in recommendations)
    reason = f"patterns from {summary.samples} {kind} ratings — {evidence}"
    if to_base:
        base = profiles.load(home, kind).master.as_dict()
        new = {r.parameter: round(base[r.parameter] + r.midpoint, 4) for r in recommendations}
        result = profiles.update(home, kind, new, reason, dry_run=dry_run)
        changes = [(c.key.removeprefix("master."), c.old, c.new) for c in result.changes]
        return Applied(f"{kind} profile", result.version, changes, reason)
    layer = layer or personal.Layer()
    old = layer.adjust.get(kind, {})
    new = {r.parameter: round(old.get(r.parameter, 0.0) + r.midpoint, 4) for r in recommendations}
    changes = [(key, old.get(key, 0.0), value) for key, value in new.items()]
    if dry_run:
        return Applied("personal layer", "(dry run)", changes, reason)
    saved = personal.save(home, {"adjust": {kind: new}}, reason, set(profiles.names(home)))
    return Applied("personal layer", saved.version, changes, reason)


def _recommended_now(home: Path, kind: str, layer) -> tuple[tuple, object, list]:
    """The mastering in use for ``kind`` (profile version, personal version), the summary of the
    ratings given to it, and its parameter recommendations."""
    heard = (profiles.current_version(home, kind), layer.version if layer else None)
    (summary,) = insights.type_summaries(home, kind=kind, heard_under=heard) or [None]
    return heard, summary, [r for r in (summary.patterns.recommendations if summary else []) if r.parameter]


def applicable_patterns(home: Path, kinds: Sequence[str]) -> dict[str, list]:
    """Per type of ``kinds``, the recommendations :func:`apply_patterns` would apply now."""
    layer = personal.current(home)
    found = {kind: _recommended_now(home, kind, layer)[2] for kind in kinds}
    return {kind: recommendations for kind, recommendations in found.items() if recommendations}


# --- profile refinement from fix effectiveness ------------------------------------------------

REFINE_MIN_DECISIONS = 10  # fix decisions on a type before its effectiveness means anything
LOW_EFFECTIVENESS, HIGH_EFFECTIVENESS = 0.4, 0.8
WIDEN, NARROW = 1.2, 0.9  # factors on a detection range's width, about its centre


@dataclass(frozen=True)
class Refinement:
    """A proposed (or, once accepted, written) version with rescaled detection ranges."""

    kind: str
    effectiveness: float
    decisions: int
    factor: float
    version: profiles.NewVersion  # ``path`` is None while it is only proposed


def refine(home: Path, kind: str, accept: bool = False) -> Refinement:
    """Rescale ``kind``'s detection ranges by its fix effectiveness (accepted and kept ÷ decided,
    over ≥ 10 decisions): below 0.4 every range widens by 20 %, above 0.8 it narrows by 10 %.

    A range never leaves the values its feature can take. Proposed as a validated dry run;
    ``accept`` writes it as the new current version."""
    from engine.features import FEATURE_LIMITS

    row = next((r for r in insights.fix_effectiveness(home) if (r["type"], r["parameter"]) == (kind, "all")), None)
    decisions = row["decisions"] if row else 0
    if decisions < REFINE_MIN_DECISIONS or row["effectiveness"] is None:
        raise ProfileError(
            f"{kind} has {decisions} fix decision(s); refinement needs {REFINE_MIN_DECISIONS} "
            "(accept / reject / modify with the app's y/x keys or `auralis rate --event`)"
        )
    effectiveness = row["effectiveness"]
    if effectiveness < LOW_EFFECTIVENESS:
        factor, verb = WIDEN, "widened by 20 %"
    elif effectiveness > HIGH_EFFECTIVENESS:
        factor, verb = NARROW, "narrowed by 10 %"
    else:
        raise ProfileError(
            f"{kind} fix effectiveness {effectiveness:.2f} is within [{LOW_EFFECTIVENESS}, {HIGH_EFFECTIVENESS}]: "
            "its detection ranges stay as they are"
        )

    def rescale(document) -> None:
        for name, feature in document.get("detect", {}).get("features", {}).items():
            low, high = (float(v) for v in feature["range"])
            centre, half = (low + high) / 2, (high - low) / 2 * factor
            floor, ceiling = FEATURE_LIMITS.get(name, (-math.inf, math.inf))
            feature["range"] = [round(max(floor, centre - half), 6), round(min(ceiling, centre + half), 6)]

    reason = f"refine: fix effectiveness {effectiveness:.2f} over {decisions} decisions, detection ranges {verb}"
    version = profiles.edit(home, kind, rescale, reason, dry_run=not accept)
    return Refinement(kind, effectiveness, decisions, factor, version)


# --- reference learning ------------------------------------------------------------------------

SIGMAS = 3.0  # a learned range covers mean ± 3 standard deviations
MIN_COUNT_FOR_RANGES = 5  # fewer references only accumulate statistics: their σ means little
MAX_REFERENCES = 24  # fingerprints kept in [[detect.references]] for validation


@dataclass(frozen=True)
class Stats:
    """Count, mean and sum of squared deviations (M2) of one feature; variance = M2 / count."""

    count: int
    mean: float
    m2: float

    @classmethod
    def of(cls, values: Sequence[float]) -> Stats:
        import numpy as np

        data = np.asarray(values, dtype=np.float64)
        if data.size == 0:
            return cls(0, 0.0, 0.0)
        mean = float(data.mean())
        return cls(int(data.size), mean, float(((data - mean) ** 2).sum()))

    def combine(self, other: Stats) -> Stats:
        """Exact statistics of the union (Chan, Golub & LeVeque's pairwise update)."""
        count = self.count + other.count
        if count == 0:
            return self
        delta = other.mean - self.mean
        mean = self.mean + delta * other.count / count
        return Stats(count, mean, self.m2 + other.m2 + delta * delta * self.count * other.count / count)

    @property
    def std(self) -> float:
        return math.sqrt(self.m2 / self.count) if self.count else 0.0


@dataclass(frozen=True)
class Learned:
    version: profiles.NewVersion
    files: int
    errors: list[tuple[str, str]]
    detected_as_type: int


def learn(home: Path, kind: str, directory: Path, progress=lambda _done, _total: None) -> Learned:
    """Fingerprint the reference tracks in ``directory`` and fold them into ``kind``'s detection
    statistics; once ≥ 5 references are known, its rule ranges widen to cover mean ± 3σ of
    everything learnt so far (ranges only widen: learning never makes a type harder to detect)."""
    import tomlkit

    from engine import audio
    from engine.detect import detect
    from engine.errors import AudioError
    from engine.fingerprint import FEATURE_NAMES, Fingerprint, fingerprint

    from .analysis import readable_audio
    from .library import walk_audio_files

    paths = [Path(entry.path) for entry in walk_audio_files(directory)]
    if not paths:
        raise ProfileError(f"{directory}: no audio files to learn from")
    fingerprints, errors = [], []
    for done, path in enumerate(paths, 1):
        try:
            readable_audio(path)
            decoded = audio.decode(path)
            values = fingerprint(decoded.samples, decoded.rate).as_dict()
            if not all(math.isfinite(v) for v in values.values()):  # never fold NaN into a profile
                raise AudioError(path, "its fingerprint is not finite (silence or junk?)")
            fingerprints.append(values)
        except AudioError as exc:
            errors.append((str(path), exc.reason))
        progress(done, len(paths))
    if not fingerprints:
        raise ProfileError(f"{directory}: none of the {len(paths)} file(s) could be read")

    def fold_in(document) -> None:
        detect_table = document.setdefault("detect", tomlkit.table())
        stats_table = detect_table.setdefault("stats", tomlkit.table(is_super_table=True))
        features = detect_table.get("features", {})
        for name in FEATURE_NAMES:
            old = stats_table.get(name, {})
            known = Stats(int(old.get("count", 0)), float(old.get("mean", 0.0)), float(old.get("m2", 0.0)))
            combined = known.combine(Stats.of([fp[name] for fp in fingerprints]))
            stats_table[name] = {"count": combined.count, "mean": combined.mean, "m2": combined.m2}
            if name in features and combined.count >= MIN_COUNT_FOR_RANGES:
                low, high = (float(v) for v in features[name]["range"])
                spread = SIGMAS * combined.std
                features[name]["range"] = [
                    round(min(low, combined.mean - spread), 6),
                    round(max(high, combined.mean + spread), 6),
                ]
        references = [dict(ref) for ref in detect_table.get("references", [])]
        references += [{k: round(v, 6) for k, v in fp.items()} for fp in fingerprints]
        tables = tomlkit.aot()
        for reference in references[-MAX_REFERENCES:]:
            table = tomlkit.table()
            table.update(reference)
            tables.append(table)
        detect_table["references"] = tables

    reason = f"learnt {len(fingerprints)} reference(s) from {directory.name}"
    version = profiles.edit(home, kind, fold_in, reason)
    current = personal.effective_profiles(home, use_personal=False)[0]
    hits = sum(1 for fp in fingerprints if detect(Fingerprint.from_dict(fp), current).type == kind)
    return Learned(version, len(fingerprints), errors, hits)


# --- degradation watch -------------------------------------------------------------------------

DEGRADATION_MIN_RATINGS = 10


@dataclass(frozen=True)
class Degradation:
    """Ratings under the current version are significantly worse than under its parent."""

    kind: str
    current: str
    parent: str
    before: float  # mean rating under the parent
    after: float
    p: float  # one-sided Welch p-value (after < before)

    def message(self) -> str:
        return (
            f"{self.kind} {self.current} is rated worse than {self.parent}: {self.after:.2f} vs {self.before:.2f} "
            f"(p = {self.p:.3f}); `auralis profiles rollback {self.kind}` undoes the change"
        )


def degradations(home: Path) -> list[Degradation]:
    """Profiles whose current version has ≥ 10 ratings significantly worse (one-sided Welch,
    p < 0.05) than the ratings of the version before it."""
    from . import abtest, store

    store.sync_feedback(home)
    by_version = store.version_ratings(home)
    found = []
    for kind, current in profiles.current_profiles(home).items():
        if not current.parent:
            continue
        after = abtest.arm_of(by_version.get((kind, current.version), []))
        before = abtest.arm_of(by_version.get((kind, current.parent), []))
        if after.n < DEGRADATION_MIN_RATINGS or before.n < 2:
            continue
        t, p_two_sided = abtest.welch(before, after)
        if math.isnan(t) or t >= 0:
            continue
        p = p_two_sided / 2
        if p < abtest.ALPHA:
            found.append(Degradation(kind, current.version, current.parent, before.mean, after.mean, p))
    return found


# --- after each feedback event -----------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """What one new feedback event may have changed."""

    tests: list[tuple[object, object]]  # (abtest.Test, abtest.Results) of every running test
    degradations: list[Degradation]
    learned: dict[str, float]  # the track's updated detection confidence per type (confidence.py)


def after_feedback(home: Path, track: str | None = None) -> Outcome:
    """Ingest the new feedback lines (which updates the confidences), then recompute the running
    A/B tests and the degradation watch — all on one DuckDB connection. A database that cannot
    be used now only delays this (said once on the log channel): the feedback is already saved."""
    from . import abtest, rating, store

    try:
        with store.session(home, timeout=rating.QUICK_TIMEOUT):
            store.sync_feedback(home)
            running = [test for test in abtest.all_tests(home) if not test.stopped]
            tests = [(test, abtest.results(home, test)) for test in running]
            learned = store.learned_confidence(home, track) if track else {}
            return Outcome(tests, degradations(home), learned)
    except store.StoreError as exc:  # the event is in the log: the next ingest counts it
        store.deferred(home, exc)
        return Outcome([], [], {})
