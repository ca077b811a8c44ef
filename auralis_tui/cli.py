"""The ``auralis`` command line: parse, call a service, print. Exit 0 ok, 1 error, 2 usage."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence

from engine.audio import AudioError
from engine.model import ProfileError

from . import __version__
from .config import ConfigError
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="auralis",
        description="Listen to your library on a headless box, rate with single keys, and let the "
        "ratings tune a versioned mastering profile.",
    )
    parser.add_argument("--version", action="version", version=f"auralis {__version__}")
    parser.add_argument("--home", metavar="DIR", help="data directory (default: $AURALIS_HOME or the user data dir)")
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

    sq = commands.add_parser(
        "sql",
        parents=[common],
        help="read-only SQL over the library",
        description="Run one SELECT over the library views (tracks). Writes, ATTACH, COPY, "
        "INSTALL/LOAD and reading other files are refused.",
    )
    sq.add_argument("query", metavar="SQL")
    sq.add_argument("--format", choices=("table", "csv", "json"), default="table")
    sq.set_defaults(run=cmd_sql)

    demo = commands.add_parser("demo", parents=[common], help="build the demo library and show what it contains")
    demo.add_argument("--json", action="store_true", help="machine-readable summary")
    demo.set_defaults(run=cmd_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    run: Callable[[argparse.Namespace], int] | None = getattr(args, "run", None)
    if run is None:
        parser.print_help()
        return 0
    try:
        return run(args)
    except (AudioError, ProfileError, UserError, ConfigError, QueryRefused, StoreError) as exc:
        print(f"auralis: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"auralis: {exc.filename or ''}: {exc.strerror or exc}".replace(": : ", ": "), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("auralis: interrupted", file=sys.stderr)
        return 130


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

    print(f"mastering {args.input} …", file=sys.stderr)
    report, detection = master_file(args.input, args.output, args.kind)
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


def cmd_sql(args: argparse.Namespace) -> int:
    import csv

    from .store import run_user_query

    result = run_user_query(_home(args), args.query)
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
    print('The TUI is not built yet; try `auralis --home DIR sql "SELECT artist, title, type FROM tracks"`.')
    return 0
