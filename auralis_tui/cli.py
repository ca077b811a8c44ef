"""The ``auralis`` command line: parse, call a service, print. Exit 0 ok, 1 error, 2 usage."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence

from engine.errors import AudioError, ProfileError

from . import __version__
from .config import ConfigError
from .errors import AudioUnavailable
from .feedback import FeedbackError
from .store import QueryRefused, StoreError

#: Fingerprint features grouped for display, with their units.
FEATURE_GROUPS: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = (
    (
        "frequency (energy share)",
        tuple((n, "") for n in ("sub_bass", "bass", "low_mid", "mid", "upper_mid", "presence", "air")),
    ),
    ("dynamics", (("lufs", "LUFS"), ("crest_db", "dB"), ("bass_mid_ratio_db", "dB"))),
    ("temporal", (("tempo_bpm", "BPM"), ("rhythm_stability", ""), ("transient_density", "/s"), ("silence_ratio", ""))),
    ("spectral", (("spectral_centroid_hz", "Hz"), ("spectral_rolloff_hz", "Hz"), ("spectral_flatness", ""))),
    ("harmonic", (("harmonic_ratio", ""), ("pitch_stability", ""), ("chroma_energy", ""))),
    ("variation", (("dynamic_range_variation_db", "dB"), ("loudness_variation_lu", "LU"), ("peak_consistency", ""))),
    ("stereo", (("stereo_width", ""), ("phase_correlation", ""))),
)


class UserError(Exception):
    """A problem the user can fix; printed as one line, exit code 1."""


USER_ERRORS = (
    AudioError, ProfileError, UserError, ConfigError, QueryRefused, StoreError, FeedbackError, AudioUnavailable,
)  # fmt: skip


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="auralis",
        description="Listen to your library on a headless box, rate with single keys, and let the "
        "ratings tune a versioned mastering profile.",
    )
    parser.add_argument("--version", action="version", version=f"auralis {__version__}")
    parser.add_argument("--home", metavar="DIR", help="data directory (default: $AURALIS_HOME or the user data dir)")
    parser.add_argument("--no-audio", action="store_true", help="open the app without sound (rating still works)")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--home", metavar="DIR", default=argparse.SUPPRESS, help="data directory")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    fp = commands.add_parser(
        "fingerprint", parents=[common], help="25-D fingerprint, detected type and confidence of a file"
    )
    fp.add_argument("file", help="audio file (FLAC, WAV, AIFF, OGG, Opus, MP3)")
    fp.add_argument("--json", action="store_true", help="machine-readable output")
    fp.set_defaults(run=cmd_fingerprint)

    ms = commands.add_parser(
        "master",
        parents=[common],
        help="master a file with its type's profile",
        description="Render IN through the mastering chain (EQ, width, loudness, true-peak limiter) "
        "into OUT; the output format follows OUT's extension.",
    )
    ms.add_argument("input", metavar="IN")
    ms.add_argument("output", metavar="OUT")
    ms.add_argument("--type", dest="kind", metavar="T", help="profile to use (default: detected)")
    ms.add_argument("--no-personal", action="store_true", help="base profile only, without your personal layer")
    ms.add_argument("--json", action="store_true", help="machine-readable report")
    ms.set_defaults(run=cmd_master)

    sc = commands.add_parser(
        "scan",
        parents=[common],
        help="index and fingerprint music folders",
        description="Walk DIR (or every configured library folder), read tags, and fingerprint new or "
        "changed files in parallel. DIR is remembered as a library folder. Progress goes to stderr.",
    )
    sc.add_argument("dirs", nargs="*", metavar="DIR", help="music folder(s); default: the configured ones")
    sc.add_argument("--jobs", type=_positive_int, metavar="N", help="analysis processes (default: CPU cores)")
    sc.add_argument("--json", action="store_true", help="machine-readable summary")
    sc.set_defaults(run=cmd_scan)

    rt = commands.add_parser(
        "rate",
        parents=[common],
        help="rate a track 1–5, with an optional comment",
        description="Record a rating in the feedback log with the track's fingerprint, detected type and "
        "the mastering parameters that apply to it. Comments like 'more bass', 'harsh' or 'too narrow' "
        "feed the keyword patterns of `auralis analyze`.",
    )
    rt.add_argument("file", help="audio file")
    rt.add_argument("--rating", type=int, choices=range(1, 6), metavar="N", help="1 (worst) to 5")
    rt.add_argument("--comment", default="", metavar="TEXT", help="what you heard, in your words")
    rt.add_argument(
        "--event",
        choices=("rating", "accept", "reject", "undo", "modify"),
        default="rating",
        help="a fix decision about the applied mastering instead of a rating: accept, reject, modify "
        "(with --parameter and --delta) or undo; it answers the track's latest rating unless --refers-to "
        "names one. `--event undo` without --parameter withdraws that rating",
    )
    rt.add_argument("--parameter", metavar="NAME", help="the fix concerned, e.g. bass_db (default: the whole profile)")
    rt.add_argument("--delta", type=float, metavar="X", help="how much the fix changed the parameter")
    rt.add_argument("--refers-to", metavar="ID", help="id of the rating the fix answers")
    rt.add_argument("--json", action="store_true", help="print the recorded line")
    rt.set_defaults(run=cmd_rate)

    an = commands.add_parser(
        "analyze",
        parents=[common],
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
    an.set_defaults(run=cmd_analyze)

    sq = commands.add_parser(
        "sql",
        parents=[common],
        help="read-only SQL over the library and the feedback",
        description="Run one SELECT over the documented views: tracks, feedback, ratings, ratings_monthly, "
        "rating_distribution, profile_satisfaction, fix_events, fix_effectiveness, track_ratings. Writes, "
        "ATTACH, COPY, INSTALL/LOAD and reading other files are refused.",
    )
    sq.add_argument("query", metavar="SQL")
    sq.add_argument("--format", choices=("table", "csv", "json"), default="table")
    sq.set_defaults(run=cmd_sql)

    up = commands.add_parser(
        "update-profile",
        parents=[common],
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
    up.set_defaults(run=cmd_update_profile)

    pe = commands.add_parser(
        "personal",
        parents=[common],
        help="your personal layer: show, history, diff, rollback, set, export, import",
        description="personal show [VER] | history | diff A B | rollback [--to VER] | set [--gear G] "
        "[--hearing H] [--brightness PCT] [--width X] [--confidence-adjust C] --reason TEXT | "
        "export OUT | import FILE. The layer is added to every base profile when mastering and playing.",
    )
    pe.add_argument("action", choices=("show", "history", "diff", "rollback", "set", "export", "import"))
    pe.add_argument("args", nargs="*", metavar="ARG")
    pe.add_argument("--to", metavar="VER", help="rollback target (default: the parent)")
    pe.add_argument("--gear", help="listening gear correction: " + ", ".join(_personal_names("GEAR")))
    pe.add_argument("--hearing", help="hearing correction: " + ", ".join(_personal_names("HEARING")))
    pe.add_argument("--brightness", type=float, metavar="PCT", help="centroid preference in %% (+10: +1 dB treble)")
    pe.add_argument("--width", type=float, metavar="X", help="stereo width preference added to every profile")
    pe.add_argument("--confidence-adjust", type=float, metavar="C", help="added to every detection threshold")
    pe.add_argument("--reason", metavar="TEXT", help="why (for set)")
    pe.set_defaults(run=cmd_personal)

    pr = commands.add_parser(
        "profiles",
        parents=[common],
        help="list, show, diff, history, rollback, learn and refine profile versions",
        description="profiles list | show NAME[@VER] | diff NAME@A NAME@B | history NAME | rollback NAME "
        "[--to VER] | learn NAME DIR | refine NAME [--accept]. `learn` fingerprints the reference tracks in DIR, "
        "folds them into NAME's detection statistics (exact combined mean/variance) and writes a new version. "
        "`refine` proposes rescaled detection ranges from the fix effectiveness of NAME (below 0.4: 20 % "
        "wider; above 0.8: 10 % narrower; at least 10 fix decisions) and writes them with --accept.",
    )
    pr.add_argument("action", choices=("list", "show", "diff", "history", "rollback", "learn", "refine"))
    pr.add_argument("refs", nargs="*", metavar="NAME[@VER]")
    pr.add_argument("--to", metavar="VER", help="rollback target (default: the current version's parent)")
    pr.add_argument("--accept", action="store_true", help="refine: write the proposal as the new current version")
    pr.add_argument("--json", action="store_true", help="machine-readable output")
    pr.set_defaults(run=cmd_profiles)

    pl = commands.add_parser(
        "play",
        parents=[common],
        help="play a file on this machine's audio output (headless; for scripts and tests)",
        description="Play FILE through PortAudio, the original or (--mastered) through its profile's chain "
        "in real time, and report what was played.",
    )
    pl.add_argument("file")
    pl.add_argument("--mastered", action="store_true", help="play through the mastering chain")
    pl.add_argument("--seconds", type=float, metavar="N", help="stop after N seconds")
    pl.add_argument("--start", type=float, default=0.0, metavar="S", help="start at S seconds")
    pl.add_argument("--device", metavar="NAME", help="output device (name part or number; see `auralis devices`)")
    pl.add_argument("--no-personal", action="store_true", help="base profile only")
    pl.set_defaults(run=cmd_play)

    dv = commands.add_parser("devices", parents=[common], help="list audio outputs")
    dv.add_argument("--json", action="store_true", help="machine-readable output")
    dv.set_defaults(run=cmd_devices)

    ab = commands.add_parser(
        "abtest",
        parents=[common],
        help="blind A/B tests between two versions of a profile",
        description="abtest start NAME --control TYPE@V1 --treatment TYPE@V2 [--ratio 0.5 | --bandit thompson] "
        "[--min-samples 50] | status [NAME] [--json] | stop NAME [--adopt]. Status shows counts, means, lift, "
        "Welch's t-test p-value, Cohen's d and a recommendation (adopt when p < 0.05 and d > 0.2).",
    )
    ab.add_argument("action", choices=("start", "status", "stop"))
    ab.add_argument("name", nargs="?", metavar="NAME")
    ab.add_argument("--control", metavar="TYPE@V")
    ab.add_argument("--treatment", metavar="TYPE@V")
    mode = ab.add_mutually_exclusive_group()
    mode.add_argument("--ratio", type=float, default=0.5, help="treatment share without a bandit (default 0.5)")
    mode.add_argument("--bandit", choices=("thompson",), help="assign variants by Thompson sampling")
    ab.add_argument("--min-samples", type=_positive_int, default=50, metavar="N", help="per variant (default 50)")
    ab.add_argument("--adopt", action="store_true", help="with stop: make the treatment the current version")
    ab.add_argument("--json", action="store_true", help="machine-readable status")
    ab.set_defaults(run=cmd_abtest)

    ex = commands.add_parser(
        "export",
        parents=[common],
        help="export anonymized feedback (needs `auralis sharing on`)",
        description="Write the feedback without paths, track names, comments, ids or exact times "
        "(month only) to OUT as JSON. Nothing leaves your machine unless you send that file.",
    )
    ex.add_argument("--anonymized", required=True, metavar="OUT", help="file to write")
    ex.set_defaults(run=cmd_export)

    fg = commands.add_parser(
        "forget",
        parents=[common],
        help="delete old feedback",
        description="Remove feedback events older than the given age from the log (atomic rewrite: the "
        "old log stays until the new one is complete).",
    )
    fg.add_argument("--older-than", required=True, metavar="AGE", help="e.g. 90d, 12w, 6m, 1y or a date")
    fg.set_defaults(run=cmd_forget)

    sh = commands.add_parser("sharing", parents=[common], help="allow or forbid anonymized export (default off)")
    sh.add_argument("state", choices=("on", "off"))
    sh.set_defaults(run=cmd_sharing)

    demo = commands.add_parser(
        "demo",
        parents=[common],
        help="build the demo library and open the app on it",
        description="Build (once, deterministically) a demo home with twelve synthesized tracks, six months of "
        "feedback and two profile versions, then open the app on it (on a terminal) or print a summary.",
    )
    demo.add_argument("--json", action="store_true", help="print a machine-readable summary instead of opening the app")
    demo.add_argument("--no-ui", action="store_true", help="print a summary instead of opening the app")
    demo.set_defaults(run=cmd_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    run: Callable[[argparse.Namespace], int] = getattr(args, "run", cmd_app)
    try:
        return run(args)
    except USER_ERRORS as exc:
        print(f"auralis: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # e.g. `auralis profiles show x | head`
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - nothing more may reach the closed pipe
        return 0
    except OSError as exc:
        print(f"auralis: {exc.filename or ''}: {exc.strerror or exc}".replace(": : ", ": "), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("auralis: interrupted", file=sys.stderr)
        return 130


def cmd_app(args: argparse.Namespace) -> int:
    """No command: open the app."""
    if not sys.stdout.isatty():
        raise UserError("the app needs a terminal; see `auralis --help` for the commands")
    from .ui.app import run

    run(_home(args), audio=not args.no_audio)
    return 0


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _home(args: argparse.Namespace):
    from .paths import data_home

    return data_home(getattr(args, "home", None))


def _print_json(data: object) -> None:
    json.dump(data, sys.stdout, indent=2, sort_keys=False)
    sys.stdout.write("\n")


def cmd_fingerprint(args: argparse.Namespace) -> int:
    from .analysis import analyze_file

    result = analyze_file(args.file)
    if args.json:
        _print_json(result.as_dict())
        return 0
    values = result.fingerprint.as_dict()
    print(f"{result.path.name}  {result.rate} Hz  {result.channels} ch  {result.duration:.1f} s")
    for group, features in FEATURE_GROUPS:
        print(f"  {group}")
        for name, unit in features:
            print(f"    {name:28s} {values[name]:12.4f} {unit}")
    det = result.detection
    print(f"type: {det.type}  confidence {det.confidence:.2f}  (best match {det.best_profile})")
    if det.evidence:
        print(f"  matched: {', '.join(det.matched()) or '-'}")
        print(f"  missed:  {', '.join(det.missed()) or '-'}")
    return 0


def cmd_master(args: argparse.Namespace) -> int:
    from .analysis import master_file
    from .personal import effective_profiles

    print(f"mastering {args.input} …", file=sys.stderr)
    profiles, _ = effective_profiles(_home(args), use_personal=not args.no_personal)
    report, detection = master_file(args.input, args.output, args.kind, profiles)
    if args.json:
        data = report.as_dict()
        data["output"] = args.output
        if detection is not None:
            data["confidence"] = detection.confidence
        _print_json(data)
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


def cmd_scan(args: argparse.Namespace) -> int:
    from pathlib import Path

    from .config import add_library_root, load_config
    from .library import scan

    home = _home(args)
    roots = [Path(d) for d in args.dirs] or [Path(r) for r in load_config(home).library_roots]
    if not roots:
        raise UserError("no library folder configured yet: run `auralis scan DIR`")
    summaries = []
    for root in roots:
        if not root.is_dir():
            raise UserError(f"{root}: not a folder")
        add_library_root(home, root)
        print(f"scanning {root.resolve()} …", file=sys.stderr)
        summaries.append(scan(home, root, args.jobs))
    if args.json:
        _print_json([vars(s) for s in summaries])
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
                    print(f"    {path}: {reason}")
    return 130 if any(s.interrupted for s in summaries) else 0


def cmd_rate(args: argparse.Namespace) -> int:
    from .feedback import log_path
    from .learning import after_feedback
    from .rating import fix, rate

    home = _home(args)
    if args.event == "rating":
        if args.rating is None:
            raise UserError("give --rating N (1–5), or --event for a fix decision")
        line, state = rate(home, args.file, args.rating, args.comment)
    else:
        if args.rating is not None:
            raise UserError(f"--rating belongs to a rating, not to --event {args.event}")
        line, state = fix(home, args.file, args.event, args.parameter, args.delta, args.refers_to)
    outcome = after_feedback(home)
    if args.json:
        _print_json(line)
        return 0
    origin = "cached" if state.cached else "analysed now"
    if args.rating:
        verdict = "★" * args.rating + "☆" * (5 - args.rating)
    else:
        verdict = f"{args.event} {line.get('fix', {}).get('parameter') or 'rating'} (answers {line['refers_to'][:8]})"
    print(f"{state.path.name}: {verdict}  type {state.type} (confidence {state.confidence:.2f}, {origin})")
    p = state.parameters
    print(
        f"  profile {state.profile_name} {state.profile_version}: bass {p['bass_db']:+.2f} dB, "
        f"treble {p['treble_db']:+.2f} dB, width {p['width']:+.2f}"
    )
    if line["comment"]:
        print(f"  note: {line['comment']}")
    print(f"  saved to {log_path(home)}")
    for warning in outcome.degradations:
        print(f"warning: {warning.message()}")
    return 0


def _since(text: str | None):
    from .insights import parse_since

    if text is None:
        return None
    try:
        return parse_since(text)
    except ValueError as exc:
        raise UserError(str(exc)) from None


def cmd_analyze(args: argparse.Namespace) -> int:
    from . import insights, store
    from .learning import degradations

    home = _home(args)
    since = _since(args.since)
    with store.session(home):  # every query below on one attach of the database
        summaries = insights.type_summaries(home, since, args.kind)
        monthly = insights.monthly_summary(home, since, args.kind) if args.monthly_summary else []
        fixes = insights.fix_effectiveness(home, since)
        confidences = insights.confidence_summary(home)
        skipped = store.sync_feedback(home)
        warnings = degradations(home)
    if args.json:
        data = {"types": [s.as_dict() for s in summaries], "fix_effectiveness": fixes, "confidence": confidences}
        data["degradations"] = [vars(d) for d in warnings]
        if args.monthly_summary:
            data["monthly"] = monthly
        data["skipped_lines"] = skipped
        _print_json(data)
        return 0
    if not summaries:
        scope = f" for type {args.kind}" if args.kind else ""
        print(f"No ratings{scope} yet: rate with `auralis rate FILE --rating N` or the app's 1–5 keys.")
    for summary in summaries:
        _print_type_summary(summary)
    if monthly:
        print("by month")
        _print_table(list(monthly[0]), [tuple(_cell(v) for v in row.values()) for row in monthly])
    if fixes:
        print("fix effectiveness: accept = accepted ÷ decided, undo = undone ÷ accepted, effective = accepted and")
        print("kept ÷ decided, improvement = next rating − the rating answered (stars, over n fixes)")
        rows = [
            (f["type"], f["parameter"], f["decisions"], *(_cell(f[k]) for k in FIX_RATES), _cell(f["improvement"]),
             f["improvement_samples"])
            for f in fixes
        ]  # fmt: skip
        _print_table(["type", "parameter", "decided", "accept", "undo", "effective", "improvement", "n"], rows)
    if confidences:
        print("detection confidence updated by feedback (below the threshold: mastered as unknown)")
        rows = [(c["type"], c["tracks"], _cell(c["average"]), _cell(c["threshold"]), c["below_threshold"])
                for c in confidences]  # fmt: skip
        _print_table(["type", "tracks", "average", "threshold", "below"], rows)
    for warning in warnings:
        print(f"warning: {warning.message()}")
    if skipped:
        print(f"note: {skipped} torn or invalid line(s) in the feedback log were skipped")
    return 0


FIX_RATES = ("accept_rate", "undo_rate", "effectiveness")


def _cell(value: object) -> object:
    if value is None:
        return "–"
    return f"{value:.2f}" if isinstance(value, float) else value


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


def _personal_names(table: str) -> list[str]:
    from . import corrections

    return list(getattr(corrections, table))


def cmd_update_profile(args: argparse.Namespace) -> int:
    from . import profiles

    home = _home(args)
    if args.apply_patterns:
        return _apply_patterns(home, args)
    if args.to_base:
        raise UserError("--to-base only goes with --apply-patterns")
    if not args.reason:
        raise UserError("say why: --reason TEXT is recorded with the version")
    current = profiles.load(home, args.kind).master.as_dict()
    given = {"bass_db": args.bass, "mid_db": args.mid, "treble_db": args.treble, "width": args.width}
    changes = {key: value for key, value in given.items() if value is not None and value != current[key]}
    if not changes:
        raise UserError("nothing to change: give --bass, --mid, --treble or --width with a new value")
    result = profiles.update(home, args.kind, changes, args.reason, dry_run=args.dry_run)
    action = "would become" if args.dry_run else "is now"
    print(f"{result.name} {result.parent} → {result.version} ({action} current): {args.reason}")
    for change in result.changes:
        print(f"  {change.key:24s} {change.old:+.3f} → {change.new:+.3f}  ({change.delta:+.3f})")
    if result.path:
        print(f"  saved {result.path}" + ("  (committed to git)" if result.committed else ""))
    else:
        print("  dry run: validation passed, nothing written")
    return 0


def _apply_patterns(home, args: argparse.Namespace) -> int:
    from .learning import apply_patterns

    if any(v is not None for v in (args.bass, args.mid, args.treble, args.width)):
        raise UserError("--apply-patterns computes the values itself; leave out --bass/--mid/--treble/--width")
    applied = apply_patterns(home, args.kind, to_base=args.to_base, dry_run=args.dry_run)
    print(f"{applied.target} → {applied.version}: {applied.reason}")
    for key, old, new in applied.changes:
        print(f"  {key:12s} {old:+.3f} → {new:+.3f}  ({new - old:+.3f})")
    return 0


def cmd_personal(args: argparse.Namespace) -> int:
    from pathlib import Path

    from . import personal, profiles

    home = _home(args)
    known = set(profiles.names(home))
    wanted = {"show": (0, 1), "history": (0, 0), "diff": (2, 2), "rollback": (0, 0), "set": (0, 0),
              "export": (1, 1), "import": (1, 1)}[args.action]  # fmt: skip
    if not wanted[0] <= len(args.args) <= wanted[1]:
        raise UserError(f"personal {args.action}: wrong number of arguments (see `auralis personal --help`)")
    if args.action == "show":
        layer = personal.load(home, args.args[0] if args.args else None)
        print(f"personal layer {layer.version} (parent {layer.parent or '-'}): {layer.reason}")
        print(f"  gear {layer.gear}, hearing {layer.hearing}, brightness {layer.brightness:+g} %, "
              f"width {layer.width:+g}, confidence adjustment {layer.confidence_adjustment:+g}")  # fmt: skip
        for kind in sorted(known):
            deltas = layer.deltas(kind)
            if deltas:
                print(f"  {kind:18s} " + ", ".join(f"{k} {v:+.2f}" for k, v in deltas.items()))
    elif args.action == "history":
        current = personal.current(home)
        for version in personal.versions(home):
            layer = personal.load(home, version)
            mark = "*" if current and current.version == version else " "
            print(f"{mark} {version:6s} parent {layer.parent or '-':6s} {layer.reason}")
    elif args.action == "diff":
        for key, a, b in personal.diff(home, *args.args):
            print(f"  {key:32s} {a!s:>10s} → {b!s:<10s}")
    elif args.action == "rollback":
        layer = personal.rollback(home, args.to, known)
        print(f"personal layer {layer.version} ({layer.reason}) is now current")
    elif args.action == "set":
        given = {"gear": args.gear, "hearing": args.hearing, "brightness": args.brightness, "width": args.width,
                 "confidence_adjustment": args.confidence_adjust}  # fmt: skip
        changes = {k: v for k, v in given.items() if v is not None}
        if not changes or not args.reason:
            raise UserError("personal set needs at least one setting and --reason TEXT")
        layer = personal.save(home, changes, args.reason, known)
        print(f"personal layer {layer.version} is now current: {args.reason}")
    elif args.action == "export":
        personal.export_shared(home, Path(args.args[0]))
        print(f"shared layer written to {args.args[0]} (preferences only)")
    else:
        layer = personal.import_shared(home, Path(args.args[0]), known)
        print(f"imported as personal layer {layer.version}; `auralis personal diff {layer.parent} {layer.version}`"
              " shows what changed, `auralis personal rollback` undoes it")  # fmt: skip
    return 0


def _learn(home, kind: str, directory: str) -> int:
    from pathlib import Path

    from .learning import learn
    from .progress import Progress

    if not Path(directory).is_dir():
        raise UserError(f"{directory}: not a folder")
    bar: list[Progress] = []

    def progress(done: int, total: int) -> None:
        if not bar:
            bar.append(Progress("learning", total))
        bar[0].advance()

    learned = learn(home, kind, Path(directory), progress)
    if bar:
        bar[0].close()
    result = learned.version
    print(f"{kind} {result.parent} → {result.version}: {result.reason}")
    for change in result.changes:
        print(f"  {change.key:40s} {change.old:12g} → {change.new:<12g} ({change.delta:+.4g})")
    print(f"  {learned.detected_as_type} of {learned.files} reference(s) are now detected as {kind}")
    for path, reason in learned.errors:
        print(f"  skipped {path}: {reason}")
    return 0


def cmd_profiles(args: argparse.Namespace) -> int:
    from . import profiles

    home = _home(args)
    wanted = {"list": 0, "show": 1, "diff": 2, "history": 1, "rollback": 1, "learn": 2, "refine": 1}[args.action]
    if len(args.refs) != wanted:
        raise UserError(f"profiles {args.action} takes {wanted} argument(s): see `auralis profiles --help`")
    if args.action == "list":
        rows = [
            (name, profiles.current_version(home, name), len(profiles.versions(home, name)), profile.title)
            for name, profile in profiles.current_profiles(home).items()
        ]
        if args.json:
            _print_json([dict(zip(("name", "current", "versions", "title"), row, strict=True)) for row in rows])
        else:
            _print_table(["name", "current", "versions", "title"], rows)
    elif args.action == "show":
        name, version = profiles.parse_ref(args.refs[0])
        profile = profiles.load(home, name, version)
        values = profiles.flatten(profile)
        if args.json:
            _print_json({"name": profile.name, "version": profile.version, "reason": profile.reason, **values})
            return 0
        print(f"{profile.name} {profile.version} — {profile.title}")
        print(f"  parent {profile.parent or '-'}, created {profile.created}, reason: {profile.reason}")
        for key, value in values.items():
            print(f"  {key:40s} {value:g}")
    elif args.action == "diff":
        a, b, changes = profiles.diff(home, *args.refs)
        if args.json:
            _print_json([{"key": c.key, "a": c.old, "b": c.new, "delta": c.delta} for c in changes])
            return 0
        left, right = f"{a.name}@{a.version}", f"{b.name}@{b.version}"
        print(f"{'key':40s} {left:>14s} {right:>14s} {'delta':>9s}")
        for c in changes:
            print(f"{c.key:40s} {c.old:14g} {c.new:14g} {c.delta:+9.3g}")
        print(f"({len(changes)} changed)")
    elif args.action == "history":
        current = profiles.current_version(home, args.refs[0])
        versions = profiles.history(home, args.refs[0])
        if args.json:
            _print_json([{"version": p.version, "parent": p.parent, "created": p.created, "reason": p.reason}
                         for p in versions])  # fmt: skip
            return 0
        for p in versions:
            mark = "*" if p.version == current else " "
            print(f"{mark} {p.version:6s} {p.created:22s} parent {p.parent or '-':6s} {p.reason}")
    elif args.action == "learn":
        return _learn(home, *args.refs)
    elif args.action == "refine":
        return _refine(home, args.refs[0], args.accept, args.json)
    else:
        result = profiles.rollback(home, args.refs[0], args.to)
        print(f"{result.name}: new version {result.version} ({result.reason}), was {result.parent}; now current")
        for change in result.changes:
            print(f"  {change.key:24s} {change.old:+.3f} → {change.new:+.3f}")
    return 0


def _refine(home, kind: str, accept: bool, as_json: bool) -> int:
    from .learning import refine

    proposal = refine(home, kind, accept)
    result = proposal.version
    changes = [{"key": c.key, "old": c.old, "new": c.new} for c in result.changes]
    if as_json:
        _print_json({"type": kind, "effectiveness": proposal.effectiveness, "decisions": proposal.decisions,
                     "factor": proposal.factor, "version": result.version, "accepted": accept, "changes": changes})
        return 0  # fmt: skip
    state = "is now current" if accept else "proposed, not written"
    print(f"{kind} {result.parent} → {result.version} ({state}): {result.reason}")
    for c in result.changes:
        print(f"  {c.key:36s} {c.old:12g} → {c.new:12g}")
    if not accept:
        print(f"  validation passed; `auralis profiles refine {kind} --accept` writes it, anything else drops it")
    return 0


def cmd_play(args: argparse.Namespace) -> int:
    from pathlib import Path

    from .config import load_config
    from .player import Player

    home = _home(args)
    path = Path(args.file)
    if not path.is_file():
        raise UserError(f"{path}: no such file")
    player = Player(home, args.device or load_config(home).audio_device or None, not args.no_personal, False)
    try:
        player.load([path])
        player.set_mastered(args.mastered)
        player.play(0, args.start)
        player.wait_until_stopped(args.seconds)
        status = player.status()
    finally:
        player.close()
    if status.message:
        raise UserError(status.message)
    version = "mastered" if args.mastered else "original"
    print(f"played {path.name} ({version}) to {status.position:.2f} s of {status.duration:.2f} s; "
          f"underruns: {status.underruns}")  # fmt: skip
    return 0


def cmd_devices(args: argparse.Namespace) -> int:
    from .player import output_devices

    devices = output_devices()
    if args.json:
        _print_json(devices)
    elif not devices:
        print("no audio output devices")
    for d in [] if args.json else devices:
        print(f"{'*' if d['default'] else ' '} {d['index']:3d}  {d['name']}  ({d['channels']} ch, {d['rate']:.0f} Hz)")
    return 0


def cmd_abtest(args: argparse.Namespace) -> int:
    from . import abtest

    home = _home(args)
    if args.action != "status" and not args.name:
        raise UserError(f"abtest {args.action} needs a NAME")
    if args.action == "start":
        if not (args.control and args.treatment):
            raise UserError("abtest start needs --control TYPE@V1 and --treatment TYPE@V2")
        test = abtest.start(home, args.name, args.control, args.treatment, args.ratio, args.bandit, args.min_samples)
        how = "Thompson sampling" if test.bandit else f"{test.ratio:.0%} of tracks to the treatment"
        print(f"A/B test {test.name}: {test.control} vs {test.treatment}, {how}, blind")
        return 0
    if args.action == "stop":
        test, outcome, adopted = abtest.stop(home, args.name, args.adopt)
        print(f"A/B test {test.name} stopped: {outcome.recommendation}")
        if adopted:
            print(f"  {test.kind} {adopted} is now current (equal to {test.treatment})")
        return 0
    tests = [abtest.load(home, args.name)] if args.name else abtest.all_tests(home)
    report = [(test, abtest.results(home, test)) for test in tests]
    if args.json:
        _print_json([{"test": vars(test), **outcome.as_dict()} for test, outcome in report])
        return 0
    if not report:
        print("no A/B tests: start one with `auralis abtest start NAME --control T@V1 --treatment T@V2`")
    for test, outcome in report:
        state = f"stopped {test.stopped}" if test.stopped else "running"
        print(f"{test.name} ({state}): {test.control} vs {test.treatment}")
        for variant, arm in outcome.arms.items():
            print(f"  {variant:9s} n {arm.n:4d}  mean {arm.mean:.2f}  sd {arm.std:.2f}")
        print(f"  lift {outcome.lift:+.2f}  p {outcome.p:.3g}  d {outcome.d:.2f} → {outcome.recommendation}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from .config import load_config
    from .privacy import export_anonymized

    home = _home(args)
    if not load_config(home).sharing:
        raise UserError("sharing is off: run `auralis sharing on` to allow anonymized exports")
    count = export_anonymized(home, args.anonymized)
    print(f"{count} anonymized event(s) written to {args.anonymized}")
    return 0


def cmd_forget(args: argparse.Namespace) -> int:
    from .feedback import rewrite

    cutoff = _since(args.older_than)
    kept, dropped = rewrite(_home(args), lambda event: _naive_utc(event["timestamp"]) >= cutoff)
    print(f"forgot {dropped} event(s) older than {cutoff:%Y-%m-%d %H:%M} UTC; {kept} kept")
    return 0


def _naive_utc(timestamp: str):
    from .feedback import parse_timestamp

    return parse_timestamp(timestamp).replace(tzinfo=None)


def cmd_sharing(args: argparse.Namespace) -> int:
    from .config import set_sharing

    set_sharing(_home(args), args.state == "on")
    print(f"sharing {args.state}")
    return 0


def cmd_sql(args: argparse.Namespace) -> int:
    import csv

    from .store import run_user_query, sync_feedback

    home = _home(args)
    sync_feedback(home)
    result = run_user_query(home, args.query)
    if args.format == "json":
        _print_json([dict(zip(result.columns, row, strict=True)) for row in result.rows])
    elif args.format == "csv":
        writer = csv.writer(sys.stdout)
        writer.writerow(result.columns)
        writer.writerows(result.rows)
    else:
        _print_table(result.columns, result.rows)
    return 0


def _print_table(columns: list[str], rows: list[tuple]) -> None:
    cells = [[("" if v is None else str(v)) for v in row] for row in rows]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]
    print("  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for row in cells:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)))
    print(f"({len(rows)} row{'s' if len(rows) != 1 else ''})")


def cmd_demo(args: argparse.Namespace) -> int:
    from .demo import build_demo
    from .paths import data_home

    home = data_home(args.home) if getattr(args, "home", None) else data_home() / "demo"
    summary = build_demo(home, progress=lambda msg: print(msg, file=sys.stderr))
    if args.json:
        _print_json(summary)
        return 0
    print(f"Demo home {home} — library {summary['library']}:")
    for track in summary["tracks"]:
        print(
            f"  {track['file']:34s} {track['rate']:>6d} Hz {track['channels']} ch {track['duration']:5.1f} s"
            f"  {track['type']:17s} {track['confidence']:.2f}  (made as {track['character']})"
        )
    print(f"{summary['feedback_events']} feedback events over six months; try:")
    print(f"  auralis --home {home} analyze --monthly-summary")
    print(f"  auralis --home {home} profiles diff studio@1.0 studio@1.1")
    print(f'  auralis --home {home} sql "SELECT * FROM profile_satisfaction"')
    if not args.no_ui and sys.stdout.isatty():
        from .ui.app import run

        run(home, audio=not args.no_audio)
    return 0
