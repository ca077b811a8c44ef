"""``auralis scan [DIR…]``: index and fingerprint music folders."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..formats import printable
from .common import UserError, add_command, home, positive_int, print_json


def register(commands: argparse._SubParsersAction) -> None:
    sc = add_command(
        commands,
        "scan",
        help="index and fingerprint music folders",
        description="Walk DIR (or every configured library folder), read tags, and fingerprint new or "
        "changed files in parallel. DIR is remembered as a library folder. Progress goes to stderr.",
    )
    sc.add_argument("dirs", nargs="*", metavar="DIR", help="music folder(s); default: the configured ones")
    sc.add_argument("--jobs", type=positive_int, metavar="N", help="analysis processes (default: CPU cores)")
    sc.add_argument("--json", action="store_true", help="machine-readable summary")
    sc.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..config import add_library_root, load_config
    from ..library import scan

    data = home(args)
    roots = [Path(d) for d in args.dirs] or [Path(r) for r in load_config(data).library_roots]
    if not roots:
        raise UserError("no library folder configured yet: run `auralis scan DIR`")
    unusable = [
        f"{root}: {'not a folder' if root.exists() else 'no such folder'}" for root in roots if not root.is_dir()
    ]
    if len(unusable) == len(roots):
        raise UserError("; ".join(unusable))
    for reason in unusable:  # one unplugged drive must not stop the others
        print(f"auralis: {reason}; skipped", file=sys.stderr)
    summaries = []
    for root in (root for root in roots if root.is_dir()):
        add_library_root(data, root)
        print(f"scanning {root.resolve()} …", file=sys.stderr)
        summaries.append(scan(data, root, args.jobs))
    if args.json:
        print_json([vars(s) for s in summaries])
    else:
        for s in summaries:
            state = "interrupted — finished work is kept" if s.interrupted else f"done in {s.seconds:.1f} s"
            print(
                f"{s.root}: {s.seen} audio files ({s.new} new, {s.changed} changed, {s.unchanged} unchanged, "
                f"{s.missing} gone), {s.analysed} analysed; {state}"
            )
            if s.errors:
                print(f"  {len(s.errors)} file(s) could not be read:")
                for path, reason in s.errors:
                    print(f"    {printable(f'{path}: {reason}')}")
    return 130 if any(s.interrupted for s in summaries) else 0
