"""The app: ``auralis`` with no command opens it; ``auralis demo`` builds the demo home first."""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from .common import UserError, add_command, home, invocation, print_json

#: What the demo suggests trying next (each works as printed after ``auralis --home DEMO``).
TIPS = ("analyze --monthly-summary", "profiles diff studio@2.0 studio@2.1",
        "sql 'SELECT * FROM profile_satisfaction'")  # fmt: skip


def register(commands: argparse._SubParsersAction) -> None:
    demo = add_command(
        commands,
        "demo",
        help="build the demo library and open the app on it",
        description="Build (once, deterministically) a demo home with twelve synthesized tracks, six months of "
        "feedback and two profile versions, then open the app on it (on a terminal) or print a summary.",
    )
    demo.add_argument("--json", action="store_true", help="print a machine-readable summary instead of opening the app")
    demo.add_argument("--no-ui", action="store_true", help="print a summary instead of opening the app")
    demo.set_defaults(run=run_demo)


def _open(data: Path, args: argparse.Namespace) -> int:
    """Run the app; its exit code (1 after a crash, whose traceback it has kept)."""
    from ..ui.app import run

    return run(data, audio=not args.no_audio)


def run_app(args: argparse.Namespace) -> int:
    """No command: open the app."""
    if not sys.stdout.isatty():
        raise UserError("the app needs a terminal; see `auralis --help` for the commands")
    return _open(home(args), args)


def run_demo(args: argparse.Namespace) -> int:
    from ..demo import build_demo
    from ..paths import data_home

    data = data_home(args.home) if getattr(args, "home", None) else data_home() / "demo"
    summary = build_demo(data, progress=lambda msg: print(msg, file=sys.stderr))
    if args.json:
        print_json(summary)
        return 0
    print(f"Demo home {data} — library {summary['library']}:")
    for track in summary["tracks"]:
        print(
            f"  {track['file']:34s} {track['rate']:>6d} Hz {track['channels']} ch {track['duration']:5.1f} s"
            f"  {track['type']:17s} {track['confidence']:.2f}  (made as {track['character']})"
        )
    print(f"{summary['feedback_events']} feedback events over six months; try:")
    command = f"{invocation()} --home {shlex.quote(str(data))}"
    for tip in TIPS:
        print(f"  {command} {tip}")
    if not args.no_ui and sys.stdout.isatty():
        return _open(data, args)
    return 0
