"""``auralis export --anonymized``, ``forget --older-than``, ``sharing on|off``: your data, your call."""

from __future__ import annotations

import argparse

from ..feedback import skipped_note
from .common import UserError, add_command, home, since


def register(commands: argparse._SubParsersAction) -> None:
    ex = add_command(
        commands,
        "export",
        help="export anonymized feedback (needs `auralis sharing on`)",
        description="Write the feedback without paths, track names, comments, ids or exact times "
        "(month only) to OUT as JSON. Nothing leaves your machine unless you send that file.",
    )
    ex.add_argument("--anonymized", required=True, metavar="OUT", help="file to write")
    ex.set_defaults(run=run_export)
    fg = add_command(
        commands,
        "forget",
        help="delete old feedback",
        description="Remove feedback events older than the given age from the log (atomic rewrite: the "
        "old log stays until the new one is complete).",
    )
    fg.add_argument("--older-than", required=True, metavar="AGE", help="e.g. 90d, 12w, 6m, 1y or a date")
    fg.set_defaults(run=run_forget)
    sh = add_command(commands, "sharing", help="allow or forbid anonymized export (default off)")
    sh.add_argument("state", choices=("on", "off"))
    sh.set_defaults(run=run_sharing)


def run_export(args: argparse.Namespace) -> int:
    from ..config import load_config
    from ..privacy import export_anonymized

    data = home(args)
    if not load_config(data).sharing:
        raise UserError("sharing is off: run `auralis sharing on` to allow anonymized exports")
    count, invalid = export_anonymized(data, args.anonymized)
    print(f"{count} anonymized event(s) written to {args.anonymized}")
    if invalid:
        print(f"note: {skipped_note(invalid)}")
    return 0


def run_forget(args: argparse.Namespace) -> int:
    from ..feedback import parse_timestamp, rewrite

    cutoff = since(args.older_than)
    kept, dropped, invalid = rewrite(
        home(args), lambda event: parse_timestamp(event["timestamp"]).replace(tzinfo=None) >= cutoff
    )
    print(f"forgot {dropped} event(s) older than {cutoff:%Y-%m-%d %H:%M} UTC; {kept} kept")
    if invalid:
        print(f"note: {invalid} invalid line(s) in the feedback log kept as they were (their age is unknown)")
    return 0


def run_sharing(args: argparse.Namespace) -> int:
    from ..config import set_sharing

    set_sharing(home(args), args.state == "on")
    print(f"sharing {args.state}")
    return 0
