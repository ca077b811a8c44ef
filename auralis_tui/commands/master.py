"""``auralis master IN OUT``: render a file through its type's mastering chain."""

from __future__ import annotations

import argparse
import sys

from .common import add_command, home, print_json


def register(commands: argparse._SubParsersAction) -> None:
    ms = add_command(
        commands,
        "master",
        help="master a file with its type's profile",
        description="Render IN through the mastering chain (EQ, width, loudness, true-peak limiter) "
        "into OUT; the output format follows OUT's extension.",
    )
    ms.add_argument("input", metavar="IN")
    ms.add_argument("output", metavar="OUT")
    ms.add_argument("--type", dest="kind", metavar="T", help="profile to use (default: detected)")
    ms.add_argument("--no-personal", action="store_true", help="base profile only, without your personal layer")
    ms.add_argument("--json", action="store_true", help="machine-readable report")
    ms.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from engine.audio import check_output

    from ..analysis import master_file, readable_audio
    from ..paths import refuse_overwrite
    from ..personal import effective_profiles
    from ..tuning import keep_freed_memory

    data = home(args)
    refuse_overwrite(data, args.output, args.input)
    # before the progress line and the render: a refusal is the only line, and comes at once
    check_output(args.output, readable_audio(args.input).rate)
    keep_freed_memory()
    print(f"mastering {args.input} …", file=sys.stderr)
    profiles, _ = effective_profiles(data, use_personal=not args.no_personal)
    report, detection = master_file(args.input, args.output, args.kind, profiles)
    if args.json:
        data = report.as_dict()
        data["output"] = args.output
        if detection is not None:
            data["confidence"] = detection.confidence
        print_json(data)
        return 0
    origin = f"detected, confidence {detection.confidence:.2f}" if detection else "chosen"
    p = report.parameters
    print(f"{args.output}: type {report.type} ({origin})")
    print(f"  EQ        bass {p['bass_db']:+.2f} dB  mid {p['mid_db']:+.2f} dB  treble {p['treble_db']:+.2f} dB")
    print(f"  width     {p['width']:+.2f}")
    print(
        f"  loudness  {report.lufs_in:.1f} → {report.lufs_out:.1f} LUFS"
        f" (target {p['target_lufs']:.1f}, gain {report.gain_db:+.1f} dB)"
    )
    print(
        f"  peak      {report.true_peak_out_dbtp:.2f} dBTP (ceiling {p['ceiling_dbtp']:.1f}),"
        f" limiter {report.max_reduction_db:.1f} dB"
    )
    if not report.target_reached:
        print("  note: loudness target not reached (silence, or more than the maximum gain needed)")
    return 0
