"""``auralis personal …``: the personal preference layer added to every base profile."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..corrections import GEAR, HEARING
from .common import UserError, add_command, add_group, home


def register(commands: argparse._SubParsersAction) -> None:
    actions = add_group(
        commands,
        "personal",
        help="your personal layer: show, history, diff, rollback, set, export, import",
        description="The layer is added to every base profile when mastering and playing.",
    )
    show = add_command(actions, "show", help="a version of the layer (default: the current one)")
    show.add_argument("version", nargs="?", metavar="VER")
    show.set_defaults(run=run_show)
    add_command(actions, "history", help="every version, the current one marked *").set_defaults(run=run_history)
    diff = add_command(actions, "diff", help="what differs between two versions")
    diff.add_argument("versions", nargs=2, metavar="VER")
    diff.set_defaults(run=run_diff)
    rollback = add_command(actions, "rollback", help="make an earlier version current again")
    rollback.add_argument("--to", metavar="VER", help="rollback target (default: the parent)")
    rollback.set_defaults(run=run_rollback)
    put = add_command(actions, "set", help="change your preferences as a new version")
    put.add_argument("--gear", help="listening gear correction: " + ", ".join(GEAR))
    put.add_argument("--hearing", help="hearing correction: " + ", ".join(HEARING))
    put.add_argument("--brightness", type=float, metavar="PCT", help="centroid preference in %% (+10: +1 dB treble)")
    put.add_argument("--width", type=float, metavar="X", help="stereo width preference added to every profile")
    put.add_argument("--confidence-adjust", type=float, metavar="C", help="added to every detection threshold")
    put.add_argument("--reason", metavar="TEXT", help="why")
    put.set_defaults(run=run_set)
    export = add_command(actions, "export", help="write the shareable part of the layer (preferences only)")
    export.add_argument("out", metavar="OUT")
    export.set_defaults(run=run_export)
    imported = add_command(actions, "import", help="take over a shared layer as a new version")
    imported.add_argument("file", metavar="FILE")
    imported.set_defaults(run=run_import)


def _known(data: Path) -> set[str]:
    from .. import profiles

    return set(profiles.names(data))


def run_show(args: argparse.Namespace) -> int:
    from .. import personal

    data = home(args)
    layer = personal.load(data, args.version)
    print(f"personal layer {layer.version} (parent {layer.parent or '-'}): {layer.reason}")
    print(f"  gear {layer.gear}, hearing {layer.hearing}, brightness {layer.brightness:+g} %, "
          f"width {layer.width:+g}, confidence adjustment {layer.confidence_adjustment:+g}")  # fmt: skip
    for kind in sorted(_known(data)):
        deltas = layer.deltas(kind)
        if deltas:
            print(f"  {kind:18s} " + ", ".join(f"{k} {v:+.2f}" for k, v in deltas.items()))
    return 0


def run_history(args: argparse.Namespace) -> int:
    from .. import personal

    data = home(args)
    current = personal.current(data)
    for version in personal.versions(data):
        layer = personal.load(data, version)
        mark = "*" if current and current.version == version else " "
        print(f"{mark} {version:6s} parent {layer.parent or '-':6s} {layer.reason}")
    return 0


def run_diff(args: argparse.Namespace) -> int:
    from .. import personal

    for key, a, b in personal.diff(home(args), *args.versions):
        print(f"  {key:32s} {a!s:>10s} → {b!s:<10s}")
    return 0


def run_rollback(args: argparse.Namespace) -> int:
    from .. import personal

    data = home(args)
    layer = personal.rollback(data, args.to, _known(data))
    print(f"personal layer {layer.version} ({layer.reason}) is now current")
    return 0


def run_set(args: argparse.Namespace) -> int:
    from .. import personal

    given = {"gear": args.gear, "hearing": args.hearing, "brightness": args.brightness, "width": args.width,
             "confidence_adjustment": args.confidence_adjust}  # fmt: skip
    changes = {k: v for k, v in given.items() if v is not None}
    if not changes or not args.reason:
        raise UserError("personal set needs at least one setting and --reason TEXT")
    data = home(args)
    layer = personal.save(data, changes, args.reason, _known(data))
    print(f"personal layer {layer.version} is now current: {args.reason}")
    return 0


def run_export(args: argparse.Namespace) -> int:
    from .. import personal

    personal.export_shared(home(args), Path(args.out))
    print(f"shared layer written to {args.out} (preferences only)")
    return 0


def run_import(args: argparse.Namespace) -> int:
    from .. import personal

    data = home(args)
    layer = personal.import_shared(data, Path(args.file), _known(data))
    print(f"imported as personal layer {layer.version}; `auralis personal diff {layer.parent} {layer.version}`"
          " shows what changed, `auralis personal rollback` undoes it")  # fmt: skip
    return 0
