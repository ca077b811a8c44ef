"""``auralis sql "SELECT …"``: read-only SQL over the library and the feedback."""

from __future__ import annotations

import argparse
import sys

from ..formats import FORMATS
from .common import add_command, home


def register(commands: argparse._SubParsersAction) -> None:
    sq = add_command(
        commands,
        "sql",
        help="read-only SQL over the library and the feedback",
        description="Run one SELECT over the documented views: tracks, feedback, ratings, mastered_ratings, "
        "heard_comparison, ratings_monthly, rating_distribution, profile_satisfaction, fix_events, "
        "fix_effectiveness, track_ratings. Writes, "
        "ATTACH, COPY, INSTALL/LOAD and reading other files are refused.",
    )
    sq.add_argument("query", metavar="SQL")
    sq.add_argument("--format", choices=FORMATS, default="table", help="table (default), csv or json: every type")
    sq.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..formats import write
    from ..store import USER_ROW_CAP, run_user_query

    result = run_user_query(home(args), args.query)  # over the feedback log as it is now
    write(result.columns, result.rows, args.format, sys.stdout)
    if result.truncated:
        print(f"auralis: only the first {USER_ROW_CAP} rows are shown; add LIMIT/OFFSET or aggregate", file=sys.stderr)
    return 0
