"""The user's TOML-versioned profile store: ``$AURALIS_HOME/profiles/<type>/<version>.toml``.

Seeded from the shipped base model. Every change is a new version (name, version, parent,
created, reason) that is validated before it is written; ``CURRENT`` in each type's folder
names the version in use. History is never rewritten: a rollback is a new version equal to an
old one. When the folder is a git work tree, each new version is also committed.

Reading is light (tomllib, no numpy): ``auralis profiles list`` starts fast. tomlkit (writing with
comments kept), the detector and the reference render are imported by the functions that write.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from engine.errors import ProfileError
from engine.model import SHIPPED_PROFILES_DIR, MasterParams, Profile, check_bounds, load_profile, profile_from_dict

from .versioned import VersionFolder, git_commit, read_toml, stamp, version_key

#: The shipped base model's version (every file in ``profiles/`` carries it). 2.0: detection
#: ranges on fingerprint version 4's definitions; 1.0 was the first base (version 1 features).
BASE_VERSION = "2.0"

#: The mastering parameters `update-profile` can change, with their CLI flags.
EDITABLE = ("bass_db", "mid_db", "treble_db", "width")
REFERENCE_SECONDS = 1.0
REFERENCE_RATE = 44100
PEAK_TOLERANCE_DB = 0.05  # the limiter's documented overshoot bound (engine.master)


def profiles_dir(home: Path) -> Path:
    return home / "profiles"


def seed(home: Path) -> Path:
    """Create the user's store from the shipped profiles, for any type not there yet, and bring a
    type seeded with an earlier base model up to :data:`BASE_VERSION` (:func:`_upgrade`). One
    ``stat`` per type when nothing is to do."""
    root = profiles_dir(home)
    for shipped in sorted(SHIPPED_PROFILES_DIR.glob("*.toml")):
        folder = root / shipped.stem
        if not folder.exists():
            profile = load_profile(shipped)
            VersionFolder(folder, profile.name).add(profile.version, shipped.read_text(encoding="utf-8"))
        elif not (folder / f"{BASE_VERSION}.toml").exists() and VersionFolder(folder, shipped.stem).exists():
            _upgrade(root, VersionFolder(folder, shipped.stem), shipped)
    return root


def _upgrade(root: Path, store: VersionFolder, shipped: Path) -> None:
    """Add the shipped base as version :data:`BASE_VERSION` of a type seeded with an earlier base,
    and make it current: the new detection ranges (a base model's ranges are tied to the feature
    definitions of its time), with every mastering value the user changed since their first
    version carried over. Its parent is the user's current version and its reason says what
    happened; no file is rewritten, so ``profiles rollback NAME --to VERSION`` restores the old
    state. The personal layer (deltas on top of any profile) is not touched."""
    import tomlkit

    versions = store.versions()
    if not versions or version_key(versions[-1]) >= version_key(BASE_VERSION):
        return  # nothing to build on, or the user's own numbering already passed the base
    current = store.current()
    try:
        first, now = (profile_from_dict(read_toml(store.path(v)), v).master for v in (versions[0], current))
        kept = {key: value for key, value in now.as_dict().items() if first.as_dict()[key] != value}
    except ProfileError:
        kept = {}  # an unreadable version: the new base as shipped
    document = tomlkit.parse(shipped.read_text(encoding="utf-8"))
    for key, value in kept.items():
        document["master"][key] = value
    changes = ", ".join(f"{key} = {value:g}" for key, value in kept.items())
    reason = f"base model {BASE_VERSION}: detection ranges on the current fingerprint definitions (was {current})"
    stamp(document, BASE_VERSION, current, reason + (f"; your mastering changes kept: {changes}" if kept else ""))
    check_bounds(profile_from_dict(document.unwrap(), f"{store.label} {BASE_VERSION}").master, store.label)
    store.add(BASE_VERSION, tomlkit.dumps(document))
    git_commit(root, f"{store.label} {BASE_VERSION}: {reason}")
    _report_once(
        f"profile {store.label}: upgraded to base model {BASE_VERSION} (was {current}); "
        f"`auralis profiles rollback {store.label} --to {current}` brings the old one back"
    )


def names(home: Path) -> list[str]:
    return sorted(p.name for p in seed(home).iterdir() if p.is_dir() and VersionFolder(p, p.name).exists())


def versions(home: Path, name: str) -> list[str]:
    return _store(home, name).versions()


def current_version(home: Path, name: str) -> str:
    return _store(home, name).current()


def load(home: Path, name: str, version: str | None = None) -> Profile:
    """One version (the current one by default)."""
    store = _store(home, name)
    path = store.path(version or store.current())
    status = path.stat()
    return _parsed(str(path), status.st_mtime_ns, status.st_size)


@functools.lru_cache(maxsize=256)
def _parsed(path: str, _mtime_ns: int, _size: int) -> Profile:
    """A version file parses once per content (the learning loop reads every current profile
    after each rating); a file changed by hand has a new mtime or size and is read again.
    A version must carry its own ``[master]`` table: without one it would master flat."""
    data = read_toml(Path(path))
    if not isinstance(data.get("master"), dict):
        raise ProfileError(f"{path}: no [master] table")
    return profile_from_dict(data, path)


_REPORTED: set[str] = set()


def _report_once(message: str) -> None:
    if message not in _REPORTED:
        _REPORTED.add(message)
        logging.getLogger("auralis").warning(message)


def current_profiles(home: Path, warn: Callable[[str], None] | None = None) -> dict[str, Profile]:
    """The profile in use for every type. A current version that cannot be used (edited by hand,
    or ``CURRENT`` naming a missing file) is reported through ``warn`` (default: once per process
    on the ``auralis`` log channel) with the newest valid earlier version, used instead."""
    result = {}
    for name in names(home):
        try:
            result[name] = load(home, name)
        except ProfileError as exc:
            current = current_version(home, name)
            fallback = _newest_valid(home, name, before=current)
            if fallback is None:
                raise ProfileError(f"{exc}; {name} has no valid earlier version to use") from None
            (warn or _report_once)(f"{exc}; {name} {current} is broken, using {fallback.version}")
            result[name] = fallback
    return result


def _newest_valid(home: Path, name: str, before: str) -> Profile | None:
    for version in reversed(versions(home, name)):
        if version_key(version) < version_key(before):
            try:
                return load(home, name, version)
            except ProfileError:
                continue
    return None


def parse_ref(ref: str) -> tuple[str, str | None]:
    """``studio@1.2`` → ("studio", "1.2"); ``studio`` → ("studio", None)."""
    name, _, version = ref.partition("@")
    return name, version or None


# --- changes -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    key: str
    old: float
    new: float

    @property
    def delta(self) -> float:
        return self.new - self.old


@dataclass(frozen=True)
class NewVersion:
    name: str
    parent: str
    version: str
    changes: list[Change]
    reason: str
    path: Path | None  # None on a dry run
    committed: bool = False


def update(home: Path, name: str, changes: dict[str, float], reason: str, dry_run: bool = False) -> NewVersion:
    """Apply absolute parameter values as a new validated version (or only validate: ``dry_run``)."""
    if not reason.strip():
        raise ProfileError("say why: --reason TEXT is recorded with the version")
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise ProfileError(f"cannot change {', '.join(sorted(unknown))} (editable: {', '.join(EDITABLE)})")

    def set_values(document) -> None:
        import tomlkit

        table = document.setdefault("master", tomlkit.table())
        for key, value in changes.items():
            table[key] = round(float(value), 4)

    return edit(home, name, set_values, reason, dry_run)


def edit(home: Path, name: str, change, reason: str, dry_run: bool = False) -> NewVersion:
    """The current version's TOML document, changed in place by ``change(document)``, as a new
    validated version (comments kept)."""
    import tomlkit

    old = load(home, name)
    document = tomlkit.parse(_store(home, name).path(old.version).read_text(encoding="utf-8"))
    change(document)
    return _commit_document(home, name, old, document, reason, dry_run)


def rollback(home: Path, name: str, to: str | None = None) -> NewVersion:
    """A new current version equal to ``to`` (default: the current version's parent). A current
    version that a hand edit broke is the case rolling back is for: it is taken as the version in
    use (the newest valid earlier one, as :func:`current_profiles` plays it), so the default
    target is that one and the diff shows what changes in what is heard."""
    try:
        current = load(home, name)
    except ProfileError as exc:
        broken = current_version(home, name)
        in_use = _newest_valid(home, name, before=broken)
        if in_use is None:
            raise ProfileError(f"{exc}; {name} has no valid earlier version to roll back to") from None
        current = replace(in_use, version=broken, parent=in_use.version)
    target = to or current.parent
    if not target:
        raise ProfileError(f"{name} {current.version} has no parent to roll back to; give --to VERSION")
    if target == current.version:
        raise ProfileError(f"{name} {target} is already current")
    import tomlkit

    document = tomlkit.parse(_store(home, name).path(target).read_text(encoding="utf-8"))
    return _commit_document(home, name, current, document, f"rollback to {target}")


def _commit_document(home: Path, name: str, old: Profile, document, reason: str, dry_run: bool = False) -> NewVersion:
    import tomlkit

    store = _store(home, name)
    version = store.next()
    document["name"] = name
    stamp(document, version, old.version, reason)
    text = tomlkit.dumps(document)
    new = profile_from_dict(document.unwrap(), f"{name} {version}")
    validate(home, new)
    changes = diff_profiles(old, new)
    if dry_run:
        return NewVersion(name, old.version, version, changes, reason, None)
    path = store.add(version, text)
    committed = git_commit(profiles_dir(home), f"{name} {version}: {reason.strip()}")
    return NewVersion(name, old.version, version, changes, reason, path, committed)


# --- validation ----------------------------------------------------------------------------------


def validate(home: Path, candidate: Profile) -> None:
    """Raise :class:`ProfileError` unless ``candidate`` is safe to use.

    1. every mastering parameter lies within ``engine.model.PARAM_BOUNDS``;
    2. every stored reference fingerprint (of all profiles) is classified as before;
    3. a reference render through the new chain stays under the true-peak ceiling.
    """
    from engine.detect import detect
    from engine.features import Fingerprint

    where = f"{candidate.name} {candidate.version}"
    check_bounds(candidate.master, where)
    before = current_profiles(home)
    after = {**before, candidate.name: candidate}
    for profile in before.values():
        for reference in profile.references:
            fingerprint = Fingerprint.from_dict(reference)
            was, now = detect(fingerprint, before).type, detect(fingerprint, after).type
            if was != now:
                raise ProfileError(f"{where}: a {profile.name} reference would be detected as {now}, not {was}")
    peak = _reference_peak(candidate.master)
    if peak > candidate.master.ceiling_dbtp + PEAK_TOLERANCE_DB:
        raise ProfileError(f"{where}: reference render peaks at {peak:.2f} dBTP, above the ceiling")



def _reference_peak(params: MasterParams) -> float:
    """True peak (dBTP) of a loud, bright, wide test mix (1/f noise + 55 Hz sine) through the chain."""
    import numpy as np

    from engine.master import master  # the chain (and scipy.signal) only when a version is validated

    rng = np.random.default_rng(0)
    frames = int(REFERENCE_SECONDS * REFERENCE_RATE)
    white = rng.standard_normal((frames, 2))
    spectrum = np.fft.rfft(white, axis=0)
    spectrum /= np.sqrt(np.maximum(np.arange(spectrum.shape[0]), 1))[:, None]  # 1/f power
    noise = np.fft.irfft(spectrum, frames, axis=0)
    t = np.arange(frames) / REFERENCE_RATE
    mix = noise / np.abs(noise).max() * 0.5 + 0.4 * np.sin(2 * np.pi * 55 * t)[:, None]
    _, report = master(mix.astype(np.float32), REFERENCE_RATE, params, "reference")
    return report.true_peak_out_dbtp


# --- comparing -----------------------------------------------------------------------------------


def flatten(profile: Profile) -> dict[str, float]:
    """Every numeric setting under a dotted key: master.*, detect.min_confidence, detect.<feature>.*"""
    values = {f"master.{key}": value for key, value in profile.master.as_dict().items()}
    values["detect.min_confidence"] = profile.min_confidence
    for rule in profile.rules:
        values[f"detect.{rule.feature}.low"] = rule.low
        values[f"detect.{rule.feature}.high"] = rule.high
        values[f"detect.{rule.feature}.weight"] = rule.weight
    return values


def diff_profiles(a: Profile, b: Profile) -> list[Change]:
    """Changed keys in sorted order (a key missing on one side counts as NaN there)."""
    left, right = flatten(a), flatten(b)
    return [
        Change(key, left.get(key, float("nan")), right.get(key, float("nan")))
        for key in sorted(set(left) | set(right))
        if left.get(key) != right.get(key)
    ]


def diff(home: Path, ref_a: str, ref_b: str) -> tuple[Profile, Profile, list[Change]]:
    (name_a, ver_a), (name_b, ver_b) = parse_ref(ref_a), parse_ref(ref_b)
    a, b = load(home, name_a, ver_a), load(home, name_b, ver_b)
    return a, b, diff_profiles(a, b)


def history(home: Path, name: str) -> list[Profile]:
    """Every readable version, oldest first; one a hand edit broke is reported (once) and left out."""
    readable = []
    for version in versions(home, name):
        try:
            readable.append(load(home, name, version))
        except ProfileError as exc:
            _report_once(f"{exc}; left out of {name}'s history")
    return readable


# --- files -------------------------------------------------------------------------------------


def _store(home: Path, name: str) -> VersionFolder:
    if not name or "/" in name or name.startswith("."):
        raise ProfileError(f"'{name}' is not a profile name")
    store = VersionFolder(seed(home) / name, name)
    if not store.exists():
        raise ProfileError(f"unknown profile '{name}' (known: {', '.join(names(home))})")
    return store
