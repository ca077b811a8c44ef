"""``auralis rate FILE``: a rating, or a fix decision about the applied mastering."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..feedback import EVENTS, RATINGS, stars
from ..formats import printable
from .common import UserError, add_command, home, print_json


def register(commands: argparse._SubParsersAction) -> None:
    rt = add_command(
        commands,
        "rate",
        help="rate a track 1–5, with an optional comment",
        description="Record a rating in the feedback log with the track's fingerprint, detected type and "
        "the mastering parameters that apply to it. Comments like 'more bass', 'harsh' or 'too narrow' "
        "feed the keyword patterns of `auralis analyze`.",
    )
    rt.add_argument("file", metavar="FILE|N", help="an audio file (with its rating), or a rating 1–5 alone: it rates "
                    "the track the server plays now, as heard (the version and A/B variant it chose)")
    rt.add_argument("stars", nargs="?", type=int, choices=RATINGS, metavar="N", help="FILE's rating, as --rating")
    rt.add_argument("--rating", type=int, choices=RATINGS, metavar="N", help="1 (worst) to 5")
    rt.add_argument("--comment", default="", metavar="TEXT", help="what you heard, in your words")
    rt.add_argument(
        "--event",
        choices=EVENTS,
        default="rating",
        help="a fix decision about the applied mastering instead of a rating: accept, reject, modify "
        "(with --parameter and --delta) or undo; it answers the track's latest rating unless --refers-to "
        "names one. `--event undo` without --parameter withdraws that rating",
    )
    rt.add_argument("--parameter", metavar="NAME", help="the fix concerned, e.g. bass_db (default: the whole profile)")
    rt.add_argument("--delta", type=float, metavar="X", help="how much the fix changed the parameter")
    rt.add_argument("--refers-to", metavar="ID", help="id of the rating the fix answers")
    rt.add_argument("--json", action="store_true", help="print the recorded line")
    rt.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..feedback import log_path
    from ..learning import after_feedback
    from ..rating import fix, rate

    data = home(args)
    if args.stars is not None:  # `rate FILE 4`
        if args.rating not in (None, args.stars):
            raise UserError(f"two ratings ({args.stars} and --rating {args.rating}): give one")
        args.rating = args.stars
    playing = args.event == "rating" and args.rating is None and args.file in ("1", "2", "3", "4", "5")
    if playing and not Path(args.file).exists():
        return rate_playing(args, int(args.file))
    if args.event == "rating":
        if args.rating is None:
            raise UserError("give --rating N (1–5), or --event for a fix decision")
        line, state = rate(data, args.file, args.rating, args.comment)
    else:
        if args.rating is not None:
            raise UserError(f"--rating belongs to a rating, not to --event {args.event}")
        line, state = fix(data, args.file, args.event, args.parameter, args.delta, args.refers_to)
    outcome = after_feedback(data)
    if args.json:
        print_json(line)
        return 0
    origin = "cached" if state.cached else "analysed now"
    if args.rating:
        verdict = stars(args.rating)
    else:
        verdict = f"{args.event} {line.get('fix', {}).get('parameter') or 'rating'} (answers {line['refers_to'][:8]})"
    print(f"{printable(state.path.name)}: {verdict}  type {state.type} (confidence {state.confidence:.2f}, {origin})")
    p = state.parameters
    print(
        f"  profile {state.profile_name} {state.profile_version}: bass {p['bass_db']:+.2f} dB, "
        f"treble {p['treble_db']:+.2f} dB, width {p['width']:+.2f}"
    )
    if line["comment"]:
        print(f"  note: {printable(line['comment'])}")
    print(f"  saved to {log_path(data)}")
    for warning in outcome.degradations:
        print(f"warning: {warning.message()}")
    return 0


def rate_playing(args: argparse.Namespace, given: int) -> int:
    """``auralis rate N``: the server rates what it plays, on the same path as the app's keys."""
    from .control import ask

    answer = ask(args, "record", start=False, rating=given, comment=args.comment)
    line = answer["line"]
    if args.json:
        print_json(line)
        return 0
    variant = f", A/B test {line['test_id']}" if line.get("test_id") else ""
    print(f"{printable(line['track'])}: {stars(given)} ({line['heard']})  profile {line['profile']['name']} "
          f"{line['profile']['version']}{variant}")  # fmt: skip
    if line["comment"]:
        print(f"  note: {printable(line['comment'])}")
    for warning in answer["degraded"]:
        print(f"warning: {warning['message']}")
    return 0
