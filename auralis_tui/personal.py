"""The personal preference layer: how *you* like it, on top of every base profile.

Versioned TOML in ``personal/preferences/`` (same storage as profiles). A layer holds

- ``[adjust.<type>]``: parameter deltas per profile (``bass_db``, ``mid_db``, ``treble_db``, ``width``);
- ``brightness``: preferred change of spectral centroid in percent; each +10 % adds +1 dB treble;
- ``width``: a stereo-width preference added to every profile's width;
- ``confidence_adjustment``: added to every profile's detection threshold (``min_confidence``);
- ``gear`` and ``hearing``: named corrections from :data:`GEAR` and :data:`HEARING`;
- ``samples`` and ``average_satisfaction``: what the layer was learnt from.

:func:`apply_to_parameters` adds all of it to a base profile's parameters, clamped to the safe
bounds of ``engine.model.PARAM_BOUNDS``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from pathlib import Path

from engine.errors import ProfileError
from engine.model import PARAM_BOUNDS, MasterParams, Profile

from . import profiles
from .corrections import GEAR, HEARING
from .paths import refuse_overwrite
from .versioned import VersionFolder, read_toml, stamp, write_atomic

ADJUSTABLE = ("bass_db", "mid_db", "treble_db", "width")
TREBLE_DB_PER_BRIGHTNESS_PERCENT = 0.1
#: Limits of the layer's own settings (deltas), checked on every new version and import.
LAYER_BOUNDS: dict[str, tuple[float, float]] = {
    "bass_db": (-6.0, 6.0),
    "mid_db": (-6.0, 6.0),
    "treble_db": (-6.0, 6.0),
    "width": (-0.5, 0.5),
    "brightness": (-30.0, 30.0),
    "confidence_adjustment": (-0.3, 0.3),
}
_TOP_KEYS = {"version", "parent", "created", "reason", "brightness", "width", "confidence_adjustment", "gear",
             "hearing", "samples", "average_satisfaction", "adjust"}  # fmt: skip
_SHARED_KEYS = ("brightness", "width", "confidence_adjustment", "gear", "hearing", "adjust")


@dataclass(frozen=True)
class Layer:
    version: str = "1.0"
    parent: str = ""
    reason: str = ""
    adjust: dict[str, dict[str, float]] = field(default_factory=dict)
    brightness: float = 0.0
    width: float = 0.0
    confidence_adjustment: float = 0.0
    gear: str = "none"
    hearing: str = "none"
    samples: int = 0
    average_satisfaction: float | None = None

    def deltas(self, kind: str) -> dict[str, float]:
        """Every correction this layer makes to profile ``kind``, summed per parameter."""
        total = dict.fromkeys(ADJUSTABLE, 0.0)
        sources = [self.adjust.get(kind, {}), GEAR[self.gear], HEARING[self.hearing]]
        sources.append({"treble_db": self.brightness * TREBLE_DB_PER_BRIGHTNESS_PERCENT, "width": self.width})
        for source in sources:
            for key, value in source.items():
                total[key] += value
        return {key: value for key, value in total.items() if value}


def apply_to_parameters(layer: Layer | None, base: MasterParams, kind: str) -> MasterParams:
    """Base parameters plus the layer's corrections for ``kind``, within the safe bounds."""
    if layer is None:
        return base
    values = base.as_dict()
    for key, delta in layer.deltas(kind).items():
        low, high = PARAM_BOUNDS[key]
        values[key] = min(high, max(low, values[key] + delta))
    return MasterParams(**values)


def apply_to_profile(layer: Layer | None, profile: Profile) -> Profile:
    """The profile as played: personal parameters and the adjusted detection threshold."""
    if layer is None:
        return profile
    threshold = min(1.0, max(0.0, profile.min_confidence + layer.confidence_adjustment))
    return replace(profile, master=apply_to_parameters(layer, profile.master, profile.name), min_confidence=threshold)


def effective_profiles(home: Path, use_personal: bool = True) -> tuple[dict[str, Profile], Layer | None]:
    """Every current base profile with the personal layer applied (unless ``use_personal`` is off)."""
    layer = current(home) if use_personal else None
    return {name: apply_to_profile(layer, p) for name, p in profiles.current_profiles(home).items()}, layer


# --- parsing and validation ----------------------------------------------------------------------


def layer_from_dict(data: dict, where: str, known_types: set[str] | None = None) -> Layer:
    """Validate a parsed layer: known keys only, numbers within :data:`LAYER_BOUNDS`, named gear."""
    unknown = set(data) - _TOP_KEYS
    if unknown:
        raise ProfileError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
    numeric = ("brightness", "width", "confidence_adjustment")
    numbers = {key: _number(data, key, where) for key in numeric if key in data}
    adjust: dict[str, dict[str, float]] = {}
    for kind, table in (data.get("adjust") or {}).items():
        if not kind.replace("_", "").isalnum() or (known_types is not None and kind not in known_types):
            raise ProfileError(f"{where}: [adjust.{kind}] is not a known profile name")
        if not isinstance(table, dict) or set(table) - set(ADJUSTABLE):
            raise ProfileError(f"{where}: [adjust.{kind}] may only set {', '.join(ADJUSTABLE)}")
        adjust[kind] = {key: _number(table, key, f"{where} [adjust.{kind}]") for key in table}
        for key, value in adjust[kind].items():
            _check(key, value, f"{where} [adjust.{kind}]")
    for key, value in numbers.items():
        _check(key, value, where)
    gear, hearing = str(data.get("gear", "none")), str(data.get("hearing", "none"))
    if gear not in GEAR:
        raise ProfileError(f"{where}: gear must be one of {', '.join(GEAR)}")
    if hearing not in HEARING:
        raise ProfileError(f"{where}: hearing must be one of {', '.join(HEARING)}")
    satisfaction = data.get("average_satisfaction")
    return Layer(
        version=str(data.get("version", "1.0")),
        parent=str(data.get("parent", "")),
        reason=str(data.get("reason", "")),
        adjust=adjust,
        gear=gear,
        hearing=hearing,
        samples=int(data.get("samples", 0)),
        average_satisfaction=None if satisfaction is None else float(satisfaction),
        **numbers,
    )


def _number(table: dict, key: str, where: str) -> float:
    value = table[key]
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ProfileError(f"{where}: '{key}' must be a number, not {value!r}")
    return float(value)


def _check(key: str, value: float, where: str) -> None:
    low, high = LAYER_BOUNDS[key]
    if not low <= value <= high:
        raise ProfileError(f"{where}: {key} = {value:g} outside [{low:g}, {high:g}]")


# --- the versioned store -----------------------------------------------------------------------


def _store(home: Path) -> VersionFolder:
    return VersionFolder(home / "personal" / "preferences", "personal layer")


def current(home: Path) -> Layer | None:
    """The layer in use, or None before the first version exists."""
    store = _store(home)
    return load(home, store.current()) if store.exists() else None


def load(home: Path, version: str | None = None) -> Layer:
    store = _store(home)
    if not store.exists():
        raise ProfileError("no personal layer yet: `auralis update-profile TYPE --apply-patterns` creates one")
    path = store.path(version or store.current())
    return layer_from_dict(read_toml(path), str(path))


def versions(home: Path) -> list[str]:
    store = _store(home)
    return store.versions() if store.exists() else []


def save(
    home: Path,
    changes: dict,
    reason: str,
    known_types: set[str],
    base: str | None = None,
    replace_adjust: bool = False,
) -> Layer:
    """A new version: the current layer (or version ``base``) with ``changes`` set, validated.

    ``changes["adjust"]`` sets per-profile values (merged into the existing tables unless
    ``replace_adjust``). Nothing is written when validation fails.
    """
    if not reason.strip():
        raise ProfileError("say why: a reason is recorded with every version")
    import tomlkit  # writing keeps comments; reading (every rating) needs only tomllib

    store = _store(home)
    if store.exists():
        document = tomlkit.parse(store.path(base or store.current()).read_text(encoding="utf-8"))
        parent, version = store.current(), store.next()
    else:
        document, parent, version = tomlkit.document(), "", "1.0"
    if replace_adjust:
        document.pop("adjust", None)
    for key, value in changes.items():
        if key == "adjust":
            tables = document.setdefault("adjust", tomlkit.table(is_super_table=True))
            for kind, deltas in value.items():
                table = tables.setdefault(kind, tomlkit.table())
                for name, delta in deltas.items():
                    table[name] = round(delta, 4)
        else:
            document[key] = value
    stamp(document, version, parent, reason)
    layer = layer_from_dict(document.unwrap(), f"personal layer {version}", known_types)
    store.add(version, tomlkit.dumps(document))
    return layer


def diff(home: Path, a: str, b: str) -> list[tuple[str, object, object]]:
    """(key, value in a, value in b) for every setting that differs."""
    left, right = _flat(load(home, a)), _flat(load(home, b))
    keys = sorted(set(left) | set(right))
    return [(key, left.get(key), right.get(key)) for key in keys if left.get(key) != right.get(key)]


def _flat(layer: Layer) -> dict[str, object]:
    values: dict[str, object] = {key: getattr(layer, key) for key in _SHARED_KEYS if key != "adjust"}
    for kind, deltas in layer.adjust.items():
        values.update({f"adjust.{kind}.{key}": value for key, value in deltas.items()})
    return values


def rollback(home: Path, to: str | None, known_types: set[str]) -> Layer:
    """A new current version equal to ``to`` (default: the current version's parent)."""
    now = load(home)
    target = to or now.parent
    if not target:
        raise ProfileError(f"personal layer {now.version} has no parent to roll back to; give --to VERSION")
    return save(home, {}, f"rollback to {target}", known_types, base=target)


# --- sharing -----------------------------------------------------------------------------------


def export_shared(home: Path, target: Path) -> None:
    """The current layer's preferences only: no history, reasons, sample counts or dates."""
    import tomlkit

    layer = load(home)
    document = tomlkit.document()
    document.add(tomlkit.comment("Auralis personal layer, shared (preferences only)"))
    for key in _SHARED_KEYS:
        if getattr(layer, key) or key != "adjust":
            document[key] = getattr(layer, key)
    write_atomic(refuse_overwrite(home, target), tomlkit.dumps(document))


MAX_IMPORT_BYTES = 64 * 1024


def import_shared(home: Path, source: Path, known_types: set[str]) -> Layer:
    """Someone else's layer as a new version (bounds-checked; unknown keys and names refused).

    Its preferences replace yours (adjustments included); diff and roll back as with any version.
    """
    if not source.is_file() or source.stat().st_size > MAX_IMPORT_BYTES:
        raise ProfileError(f"{source}: not a shared layer file (missing, or larger than 64 KB)")
    data = read_toml(source)
    extra = set(data) - set(_SHARED_KEYS)
    if extra:
        raise ProfileError(f"{source}: unknown key(s) {', '.join(sorted(extra))}")
    shared = layer_from_dict(data, str(source), known_types)
    changes = {key: getattr(shared, key) for key in _SHARED_KEYS}
    return save(home, changes, f"imported {source.name}", known_types, replace_adjust=True)
