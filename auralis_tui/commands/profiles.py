"""``auralis profiles …`` and ``auralis update-profile``: the versioned base profiles."""

from __future__ import annotations

import argparse
from pathlib import Path

from .common import UserError, add_command, add_group, add_json, home, print_json, print_table


def register(commands: argparse._SubParsersAction) -> None:
    _register_update(commands)
    actions = add_group(
        commands,
        "profiles",
        help="list, show, diff, history, rollback, learn and refine profile versions",
        description="Every profile is a series of TOML versions; one of them is current.",
    )
    ls = add_command(actions, "list", help="every profile with its current version")
    add_json(ls)
    ls.set_defaults(run=run_list)
    show = add_command(actions, "show", help="one version's values (default: the current one)")
    show.add_argument("ref", metavar="NAME[@VER]")
    add_json(show)
    show.set_defaults(run=run_show)
    diff = add_command(actions, "diff", help="the values that differ between two versions")
    diff.add_argument("refs", nargs=2, metavar="NAME@VER")
    add_json(diff)
    diff.set_defaults(run=run_diff)
    history = add_command(actions, "history", help="every version of a profile, the current one marked *")
    history.add_argument("name", metavar="NAME")
    add_json(history)
    history.set_defaults(run=run_history)
    rollback = add_command(
        actions, "rollback", help="make an earlier version current again (as a new version)"
    )
    rollback.add_argument("name", metavar="NAME")
    rollback.add_argument("--to", metavar="VER", help="rollback target (default: the current version's parent)")
    rollback.set_defaults(run=run_rollback)
    learn = add_command(
        actions,
        "learn",
        help="fold reference tracks into a profile's detection statistics",
        description="Fingerprint the reference tracks in DIR, fold them into NAME's detection statistics "
        "(exact combined mean/variance) and write a new version.",
    )
    learn.add_argument("name", metavar="NAME")
    learn.add_argument("directory", metavar="DIR")
    learn.set_defaults(run=run_learn)
    refine = add_command(
        actions,
        "refine",
        help="rescale detection ranges from the fix effectiveness",
        description="Propose rescaled detection ranges from the fix effectiveness of NAME (below 0.4: 20 % "
        "wider; above 0.8: 10 % narrower; at least 10 fix decisions) and write them with --accept.",
    )
    refine.add_argument("name", metavar="NAME")
    refine.add_argument("--accept", action="store_true", help="write the proposal as the new current version")
    add_json(refine)
    refine.set_defaults(run=run_refine)


def _register_update(commands: argparse._SubParsersAction) -> None:
    up = add_command(
        commands,
        "update-profile",
        help="change a profile's mastering values as a new validated version",
        description="Load the current version of TYPE, apply the new values, bump the version (1.0 → 1.1), "
        "validate (parameters within safe bounds, reference fingerprints still detected as before, a "
        "reference render under the true-peak ceiling) and write it atomically; committed with git when "
        "the profile folder is a git work tree. A version that fails validation is never written.",
    )
    up.add_argument("kind", metavar="TYPE")
    for flag, unit in (("bass", "dB"), ("mid", "dB"), ("treble", "dB"), ("width", "X")):
        up.add_argument(f"--{flag}", type=float, metavar=unit.upper(), help=f"new {flag} value ({unit})")
    up.add_argument("--reason", metavar="TEXT", help="why: recorded with the version (required for manual values)")
    up.add_argument(
        "--apply-patterns",
        action="store_true",
        help="apply the midpoint of each keyword-pattern recommendation (see `auralis analyze`) to your "
        "personal layer; the reason names the evidence",
    )
    up.add_argument("--to-base", action="store_true", help="with --apply-patterns: change the base profile instead")
    up.add_argument("--dry-run", action="store_true", help="validate and show the change without writing")
    up.set_defaults(run=run_update)


def run_list(args: argparse.Namespace) -> int:
    from .. import profiles

    data = home(args)
    rows = [
        (name, profile.version, len(profiles.versions(data, name)), profile.title)  # the version in use
        for name, profile in profiles.current_profiles(data).items()
    ]
    if args.json:
        print_json([dict(zip(("name", "current", "versions", "title"), row, strict=True)) for row in rows])
    else:
        print_table(["name", "current", "versions", "title"], rows)
    return 0


def run_show(args: argparse.Namespace) -> int:
    from .. import profiles

    name, version = profiles.parse_ref(args.ref)
    profile = profiles.load(home(args), name, version)
    values = profiles.flatten(profile)
    if args.json:
        print_json({"name": profile.name, "version": profile.version, "reason": profile.reason, **values})
        return 0
    print(f"{profile.name} {profile.version} — {profile.title}")
    print(f"  parent {profile.parent or '-'}, created {profile.created}, reason: {profile.reason}")
    for key, value in values.items():
        print(f"  {key:40s} {value:g}")
    return 0


def run_diff(args: argparse.Namespace) -> int:
    from .. import profiles

    a, b, changes = profiles.diff(home(args), *args.refs)
    if args.json:
        print_json([{"key": c.key, "a": c.old, "b": c.new, "delta": c.delta} for c in changes])
        return 0
    left, right = f"{a.name}@{a.version}", f"{b.name}@{b.version}"
    print(f"{'key':40s} {left:>14s} {right:>14s} {'delta':>9s}")
    for c in changes:
        print(f"{c.key:40s} {c.old:14g} {c.new:14g} {c.delta:+9.3g}")
    print(f"({len(changes)} changed)")
    return 0


def run_history(args: argparse.Namespace) -> int:
    from .. import profiles

    data = home(args)
    current = profiles.current_version(data, args.name)
    versions = profiles.history(data, args.name)
    if args.json:
        print_json([{"version": p.version, "parent": p.parent, "created": p.created, "reason": p.reason}
                    for p in versions])  # fmt: skip
        return 0
    for p in versions:
        mark = "*" if p.version == current else " "
        print(f"{mark} {p.version:6s} {p.created:22s} parent {p.parent or '-':6s} {p.reason}")
    return 0


def run_rollback(args: argparse.Namespace) -> int:
    from .. import profiles

    result = profiles.rollback(home(args), args.name, args.to)
    print(f"{result.name}: new version {result.version} ({result.reason}), was {result.parent}; now current")
    for change in result.changes:
        print(f"  {change.key:24s} {change.old:+.3f} → {change.new:+.3f}")
    return 0


def run_learn(args: argparse.Namespace) -> int:
    from ..learning import learn
    from ..progress import Progress

    if not Path(args.directory).is_dir():
        raise UserError(f"{args.directory}: not a folder")
    bar: list[Progress] = []

    def progress(done: int, total: int) -> None:
        if not bar:
            bar.append(Progress("learning", total))
        bar[0].advance()

    learned = learn(home(args), args.name, Path(args.directory), progress)
    if bar:
        bar[0].close()
    result = learned.version
    print(f"{args.name} {result.parent} → {result.version}: {result.reason}")
    for change in result.changes:
        print(f"  {change.key:40s} {change.old:12g} → {change.new:<12g} ({change.delta:+.4g})")
    print(f"  {learned.detected_as_type} of {learned.files} reference(s) are now detected as {args.name}")
    for path, reason in learned.errors:
        print(f"  skipped {path}: {reason}")
    return 0


def run_refine(args: argparse.Namespace) -> int:
    from ..learning import refine

    kind = args.name
    proposal = refine(home(args), kind, args.accept)
    result = proposal.version
    changes = [{"key": c.key, "old": c.old, "new": c.new} for c in result.changes]
    if args.json:
        print_json({"type": kind, "effectiveness": proposal.effectiveness, "decisions": proposal.decisions,
                    "factor": proposal.factor, "version": result.version, "accepted": args.accept,
                    "changes": changes})  # fmt: skip
        return 0
    state = "is now current" if args.accept else "proposed, not written"
    print(f"{kind} {result.parent} → {result.version} ({state}): {result.reason}")
    for c in result.changes:
        print(f"  {c.key:36s} {c.old:12g} → {c.new:12g}")
    if not args.accept:
        print(f"  validation passed; `auralis profiles refine {kind} --accept` writes it, anything else drops it")
    return 0


def run_update(args: argparse.Namespace) -> int:
    from .. import profiles

    data = home(args)
    if args.apply_patterns:
        return _apply_patterns(data, args)
    if args.to_base:
        raise UserError("--to-base only goes with --apply-patterns")
    if not args.reason:
        raise UserError("say why: --reason TEXT is recorded with the version")
    current = profiles.load(data, args.kind).master.as_dict()
    given = {"bass_db": args.bass, "mid_db": args.mid, "treble_db": args.treble, "width": args.width}
    changes = {key: value for key, value in given.items() if value is not None and value != current[key]}
    if not changes:
        raise UserError("nothing to change: give --bass, --mid, --treble or --width with a new value")
    result = profiles.update(data, args.kind, changes, args.reason, dry_run=args.dry_run)
    action = "would become" if args.dry_run else "is now"
    print(f"{result.name} {result.parent} → {result.version} ({action} current): {args.reason}")
    for change in result.changes:
        print(f"  {change.key:24s} {change.old:+.3f} → {change.new:+.3f}  ({change.delta:+.3f})")
    if result.path:
        print(f"  saved {result.path}" + ("  (committed to git)" if result.committed else ""))
    else:
        print("  dry run: validation passed, nothing written")
    return 0


def _apply_patterns(data: Path, args: argparse.Namespace) -> int:
    from ..learning import apply_patterns

    if any(v is not None for v in (args.bass, args.mid, args.treble, args.width)):
        raise UserError("--apply-patterns computes the values itself; leave out --bass/--mid/--treble/--width")
    applied = apply_patterns(data, args.kind, to_base=args.to_base, dry_run=args.dry_run)
    print(f"{applied.target} → {applied.version}: {applied.reason}")
    for key, old, new in applied.changes:
        print(f"  {key:12s} {old:+.3f} → {new:+.3f}  ({new - old:+.3f})")
    return 0
