"""The mastering model: one profile per recording type, read from TOML.

A profile file holds identity (``name``, ``title``, ``version``, ``parent``, ``created``,
``reason``), a ``[detect]`` table (``min_confidence`` and per-feature ``range``/``weight``
rules in fingerprint units) and a ``[master]`` table (EQ, width, loudness, ceiling). This
module parses and validates that schema; the versioned store lives in ``auralis_tui.profiles``.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, field, fields, replace
from importlib import resources
from pathlib import Path
from typing import Any

from .errors import ProfileError
from .features import FEATURE_NAMES

#: The base model shipped with the program: package data ``engine/profiles`` (in the checkout a
#: symlink to the top-level ``profiles/``; in a wheel the copied files). Wheels install unzipped,
#: so the resource is a real folder.
SHIPPED_PROFILES_DIR = Path(str(resources.files(__package__) / "profiles"))
DEFAULT_MIN_CONFIDENCE = 0.65
DEFAULT_MIN_MARGIN = 0.1  # lead over the runner-up a verdict needs
DEFAULT_MATCHED_SHARE = 2 / 3  # of a profile's rules that must match, at least two


@dataclass(frozen=True)
class MasterParams:
    """Parameters of the mastering chain (see ``engine.master``). Bounds in :data:`PARAM_BOUNDS`."""

    bass_db: float = 0.0
    mid_db: float = 0.0
    treble_db: float = 0.0
    width: float = 0.0  # side gain change: side × (1 + width); −1 folds to mono
    target_lufs: float = -14.0
    ceiling_dbtp: float = -1.0
    max_gain_db: float = 18.0  # never raise quiet material by more than this
    bass_hz: float = 100.0
    mid_hz: float = 1000.0
    mid_q: float = 0.7
    treble_hz: float = 6000.0

    def as_dict(self) -> dict[str, float]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def with_changes(self, **changes: float) -> MasterParams:
        return replace(self, **changes)


#: Safe bounds for every mastering parameter (inclusive). Chosen so no single stage can
#: make a track unpleasant or dangerous: ±12 dB of EQ is beyond any corrective move, width
#: cannot invert the side channel, and the ceiling stays below 0 dBTP.
PARAM_BOUNDS: dict[str, tuple[float, float]] = {
    "bass_db": (-12.0, 12.0),
    "mid_db": (-12.0, 12.0),
    "treble_db": (-12.0, 12.0),
    "width": (-1.0, 1.0),
    "target_lufs": (-30.0, -6.0),
    "ceiling_dbtp": (-6.0, -0.1),
    "max_gain_db": (0.0, 30.0),
    "bass_hz": (20.0, 500.0),
    "mid_hz": (200.0, 8000.0),
    "mid_q": (0.1, 10.0),
    "treble_hz": (1000.0, 16000.0),
}


@dataclass(frozen=True)
class FeatureRule:
    """A feature must lie in ``[low, high]``; ``weight`` is its say in the profile's score."""

    feature: str
    low: float
    high: float
    weight: float = 1.0


@dataclass(frozen=True)
class Profile:
    """One recording type: how to recognise it and how to master it."""

    name: str
    title: str
    version: str
    rules: tuple[FeatureRule, ...]
    master: MasterParams
    min_confidence: float = DEFAULT_MIN_CONFIDENCE
    min_matched_rules: int = 0  # 0: two thirds of the rules, at least two (see min_matched)
    min_margin: float = DEFAULT_MIN_MARGIN
    parent: str = ""
    created: str = ""
    reason: str = ""
    references: tuple[dict[str, float], ...] = field(default=())

    @property
    def detectable(self) -> bool:
        return bool(self.rules)

    @property
    def min_matched(self) -> int:
        """Rules that must match for a verdict: ``min_matched`` from the file, else two thirds."""
        if self.min_matched_rules:
            return min(self.min_matched_rules, len(self.rules))
        return min(len(self.rules), max(2, math.ceil(DEFAULT_MATCHED_SHARE * len(self.rules) - 1e-9)))


def _number(table: dict[str, Any], key: str, where: str) -> float:
    value = table[key]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ProfileError(f"{where}: '{key}' must be a number, not {value!r}")
    return float(value)


def _parse_rules(detect: dict[str, Any], where: str) -> tuple[FeatureRule, ...]:
    rules = []
    for feature, spec in detect.get("features", {}).items():
        if feature not in FEATURE_NAMES:
            raise ProfileError(f"{where}: [detect.features] unknown feature '{feature}'")
        span = spec.get("range") if isinstance(spec, dict) else None
        if not (isinstance(span, list) and len(span) == 2):
            raise ProfileError(f"{where}: feature '{feature}' needs range = [low, high]")
        low, high = (float(v) for v in span)
        if not low <= high:
            raise ProfileError(f"{where}: feature '{feature}' range low {low} > high {high}")
        weight = _number(spec, "weight", where) if "weight" in spec else 1.0
        if weight <= 0:
            raise ProfileError(f"{where}: feature '{feature}' weight must be > 0")
        rules.append(FeatureRule(feature, low, high, weight))
    return tuple(rules)


def _parse_master(table: dict[str, Any], where: str) -> MasterParams:
    known = {f.name for f in fields(MasterParams)}
    unknown = sorted(set(table) - known)
    if unknown:
        raise ProfileError(f"{where}: [master] unknown key(s) {', '.join(unknown)}")
    params = MasterParams(**{key: _number(table, key, where) for key in table})
    check_bounds(params, where)
    return params


def check_bounds(params: MasterParams, where: str = "parameters") -> None:
    """Raise :class:`ProfileError` naming every parameter outside :data:`PARAM_BOUNDS`."""
    problems = [
        f"{key} = {value:g} outside [{low:g}, {high:g}]"
        for key, value in params.as_dict().items()
        for low, high in [PARAM_BOUNDS[key]]
        if not low <= value <= high
    ]
    if problems:
        raise ProfileError(f"{where}: " + "; ".join(problems))


def profile_from_dict(data: dict[str, Any], where: str = "profile") -> Profile:
    """Validate a parsed TOML document and build a :class:`Profile`."""
    try:
        name = str(data["name"])
        version = str(data["version"])
    except KeyError as missing:
        raise ProfileError(f"{where}: missing required key {missing}") from None
    detect = data.get("detect", {})
    min_confidence = _number(detect, "min_confidence", where) if "min_confidence" in detect else DEFAULT_MIN_CONFIDENCE
    if not 0.0 <= min_confidence <= 1.0:
        raise ProfileError(f"{where}: min_confidence must be within [0, 1]")
    min_margin = _number(detect, "min_margin", where) if "min_margin" in detect else DEFAULT_MIN_MARGIN
    if not 0.0 <= min_margin <= 1.0:
        raise ProfileError(f"{where}: min_margin must be within [0, 1]")
    min_matched = _number(detect, "min_matched", where) if "min_matched" in detect else 0.0
    if min_matched < 0 or min_matched != int(min_matched):
        raise ProfileError(f"{where}: min_matched must be a whole number ≥ 0")
    references = tuple(
        {k: float(v) for k, v in ref.items() if k in FEATURE_NAMES} for ref in detect.get("references", [])
    )
    return Profile(
        name=name,
        title=str(data.get("title", name)),
        version=version,
        rules=_parse_rules(detect, where),
        master=_parse_master(data.get("master", {}), where),
        min_confidence=min_confidence,
        min_matched_rules=int(min_matched),
        min_margin=min_margin,
        parent=str(data.get("parent", "")),
        created=str(data.get("created", "")),
        reason=str(data.get("reason", "")),
        references=references,
    )


def load_profile(path: str | Path) -> Profile:
    """Read and validate one profile TOML file."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ProfileError(f"{path}: no such profile file") from None
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError(f"{path}: invalid TOML ({exc})") from None
    return profile_from_dict(data, str(path))


def load_profiles(directory: str | Path = SHIPPED_PROFILES_DIR) -> dict[str, Profile]:
    """Every ``*.toml`` profile in ``directory`` keyed by name (one file per type)."""
    profiles = [load_profile(path) for path in sorted(Path(directory).glob("*.toml"))]
    if not profiles:
        raise ProfileError(f"{directory}: no profiles found")
    return {profile.name: profile for profile in profiles}
