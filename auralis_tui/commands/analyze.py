"""``auralis analyze``: what the ratings say — averages, keyword patterns, recommendations."""

from __future__ import annotations

import argparse

from ..feedback import skipped_note
from .common import UserError, add_command, cell, home, print_json, print_table, since

FIX_RATES = ("accept_rate", "undo_rate", "effectiveness")


def register(commands: argparse._SubParsersAction) -> None:
    an = add_command(
        commands,
        "analyze",
        help="what your ratings say: averages, keyword patterns, recommendations",
        description="Summarise ratings per detected type: samples, average rating and confidence, rating "
        "histogram, keyword patterns in comments and the profile changes they support (≥ 5 samples).",
    )
    which = an.add_mutually_exclusive_group()
    which.add_argument("--type", dest="kind", metavar="T", help="only this recording type")
    which.add_argument("--all-types", action="store_true", help="every type (the default)")
    an.add_argument("--monthly-summary", action="store_true", help="add ratings per calendar month")
    an.add_argument("--since", metavar="WHEN", help="only feedback since 30d, 12w, 6m, 1y or a date")
    an.add_argument("--json", action="store_true", help="machine-readable output")
    an.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from .. import insights, profiles, store
    from ..learning import degradations

    data_home = home(args)
    start = since(args.since)
    known = profiles.names(data_home)
    if args.kind and args.kind not in known:
        raise UserError(f"unknown type '{args.kind}' (known: {', '.join(known)})")
    with store.session(data_home):  # every query below on one attach of the database
        summaries = insights.type_summaries(data_home, start, args.kind)
        monthly = insights.monthly_summary(data_home, start, args.kind) if args.monthly_summary else []
        fixes = insights.fix_effectiveness(data_home, start)
        confidences = insights.confidence_summary(data_home)
        skipped = store.sync_feedback(data_home)
        warnings = degradations(data_home)
    if args.json:
        data = {"types": [s.as_dict() for s in summaries], "fix_effectiveness": fixes, "confidence": confidences}
        data["degradations"] = [vars(d) for d in warnings]
        if args.monthly_summary:
            data["monthly"] = monthly
        data["skipped_lines"] = skipped
        print_json(data)
        return 0
    if not summaries:
        scope = f" for type {args.kind}" if args.kind else ""
        print(f"No ratings{scope} yet: rate with `auralis rate FILE --rating N` or the app's 1–5 keys.")
    for summary in summaries:
        _print_type_summary(summary)
    if monthly:
        print("by month")
        print_table(list(monthly[0]), [tuple(cell(v) for v in row.values()) for row in monthly])
    if fixes:
        print("fix effectiveness: accept = accepted ÷ decided, undo = undone ÷ accepted, effective = accepted and")
        print("kept ÷ decided, improvement = next rating − the rating answered (stars, over n fixes)")
        rows = [
            (f["type"], f["parameter"], f["decisions"], *(cell(f[k]) for k in FIX_RATES), cell(f["improvement"]),
             f["improvement_samples"])
            for f in fixes
        ]  # fmt: skip
        print_table(["type", "parameter", "decided", "accept", "undo", "effective", "improvement", "n"], rows)
    if confidences:
        print("detection confidence updated by feedback (below the threshold: mastered as unknown)")
        rows = [(c["type"], c["tracks"], cell(c["average"]), cell(c["threshold"]), c["below_threshold"])
                for c in confidences]  # fmt: skip
        print_table(["type", "tracks", "average", "threshold", "below"], rows)
    for warning in warnings:
        print(f"warning: {warning.message()}")
    if skipped:
        print(f"note: {skipped_note(skipped)}")
    return 0


def _print_type_summary(summary) -> None:
    report = summary.patterns
    print(
        f"{summary.type}: {summary.samples} rating(s), average {summary.average_rating:.2f}, "
        f"confidence {summary.average_confidence:.2f}"
    )
    most = max(summary.histogram.values(), default=1)
    for stars in range(5, 0, -1):
        count = summary.histogram.get(stars, 0)
        print(f"  {stars}★ {'█' * round(20 * count / most):20s} {count}")
    wants = [f"{name}{'+' if sign > 0 else '−'} ×{n}" for (name, sign), n in report.wants.items() if n]
    if wants:
        print(f"  wants:   {', '.join(wants)}")
    if report.phrases:
        print("  phrases: " + ", ".join(f'"{p}" ×{n}' for p, n in list(report.phrases.items())[:8]))
    for rec in report.recommendations:
        if rec.parameter:
            target = f"{rec.parameter} {rec.low:+.2f}…{rec.high:+.2f} (apply {rec.midpoint:+.2f})"
        else:
            target = rec.kind.replace("_", " ")
        print(f"  → {target}: {rec.reason}")
    if summary.samples < 5:
        print("  (recommendations need at least 5 ratings)")
