"""``auralis play FILE`` and ``auralis devices``: headless playback on this machine's audio output."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from .common import UserError, add_command, add_json, home, print_json


def register(commands: argparse._SubParsersAction) -> None:
    pl = add_command(
        commands,
        "play",
        help="start or resume the server's queue (N: from position N), or play FILE here and now",
        description="Without FILE: the server resumes, or starts the queue (at position N when given). "
        "With FILE: play it in this process through PortAudio, the original or (--mastered) through its "
        "profile's chain in real time, and report what was played (offline; for scripts and tests).",
    )
    pl.add_argument("file", nargs="?", metavar="N|FILE")
    add_json(pl)
    pl.add_argument("--mastered", action="store_true", help="play through the mastering chain")
    pl.add_argument("--seconds", type=float, metavar="N", help="stop after N seconds")
    pl.add_argument("--start", type=float, default=0.0, metavar="S", help="start at S seconds")
    pl.add_argument("--device", metavar="NAME", help="output device (name part or number; see `auralis devices`)")
    pl.add_argument("--no-personal", action="store_true", help="base profile only")
    pl.set_defaults(run=run_play)
    dv = add_command(commands, "devices", help="list audio outputs")
    add_json(dv)
    dv.set_defaults(run=run_devices)


def run_play(args: argparse.Namespace) -> int:
    from ..analysis import readable_audio
    from ..config import load_config
    from ..player import Player

    if args.file is None or (args.file.isdigit() and not Path(args.file).exists()):
        from .control import ask, report

        return report(args, ask(args, "play", **({"pos": int(args.file) - 1} if args.file else {})))
    data = home(args)
    path = Path(args.file)
    readable_audio(path)
    player = Player(data, args.device or load_config(data).audio_device or None, not args.no_personal, False)
    try:
        player.load([path])
        player.set_mastered(args.mastered)
        player.play(0, args.start, None if args.seconds is None else args.start + args.seconds)
        _wait(player, args.start, args.seconds)
        status = player.status()
    finally:
        player.close()
    if status.message:
        raise UserError(status.message)
    version = "mastered" if args.mastered else "original"
    print(f"played {path.name} ({version}) to {status.position:.2f} s of {status.duration:.2f} s; "
          f"underruns: {status.underruns}")  # fmt: skip
    return 0


PREPARE_SECONDS = 120.0  # decoding and analysis before the first sound may take this long


def _wait(player, start: float, seconds: float | None) -> None:
    """Until the track ends or ``seconds`` of it have played (played time, not wall time: a long
    file is decoded before its first sound)."""
    deadline = None if seconds is None else time.monotonic() + seconds + PREPARE_SECONDS
    while not player.wait_until_stopped(0.05):
        if seconds is not None and (player.status().position >= start + seconds or time.monotonic() > deadline):
            return


def run_devices(args: argparse.Namespace) -> int:
    from ..player import output_devices

    devices = output_devices()
    if args.json:
        print_json(devices)
        return 0
    if not devices:
        print("no audio output devices")
    for d in devices:
        print(f"{'*' if d['default'] else ' '} {d['index']:3d}  {d['name']}  ({d['channels']} ch, {d['rate']:.0f} Hz)")
    return 0
