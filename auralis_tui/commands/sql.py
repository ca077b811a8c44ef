"""``auralis sql "SELECT …"``: read-only SQL over the library and the feedback."""

from __future__ import annotations

import argparse
import sys

from .common import add_command, home, print_json, print_table

FORMATS = ("table", "csv", "json")


def register(commands: argparse._SubParsersAction) -> None:
    sq = add_command(
        commands,
        "sql",
        help="read-only SQL over the library and the feedback",
        description="Run one SELECT over the documented views: tracks, feedback, ratings, ratings_monthly, "
        "rating_distribution, profile_satisfaction, fix_events, fix_effectiveness, track_ratings. Writes, "
        "ATTACH, COPY, INSTALL/LOAD and reading other files are refused.",
    )
    sq.add_argument("query", metavar="SQL")
    sq.add_argument("--format", choices=FORMATS, default="table")
    sq.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import csv

    from ..store import run_user_query, sync_feedback

    data = home(args)
    sync_feedback(data)
    result = run_user_query(data, args.query)
    if args.format == "json":
        print_json([dict(zip(result.columns, row, strict=True)) for row in result.rows])
    elif args.format == "csv":
        writer = csv.writer(sys.stdout)
        writer.writerow(result.columns)
        writer.writerows(result.rows)
    else:
        print_table(result.columns, result.rows)
    return 0
