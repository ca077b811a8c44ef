"""mpc-like control of the home's server: ``auralis status``, ``toggle``, ``pause``, ``next``,
``prev``, ``stop``, ``seek``, ``volume``, ``mode`` and ``queue`` (``play`` lives in playback.py).
Each prints one line (or the queue), ``--json`` the server's answer; the server is started when
none runs."""

from __future__ import annotations

import argparse
import math

from .common import UserError, add_command, add_json, home, print_json


def register(commands: argparse._SubParsersAction) -> None:
    for name, cmd, text in (
        ("status", "status", "what plays now: track, position, volume, modes"),
        ("toggle", "toggle", "pause or resume (start the queue when stopped)"),
        ("pause", "pause", "pause the music"),
        ("next", "next", "skip to the next track of the queue"),
        ("prev", "previous", "back to the previous track of the queue"),
    ):
        parser = add_command(commands, name, help=text, description=f"{text[0].upper()}{text[1:]}.")
        add_json(parser)
        parser.set_defaults(run=run_simple, cmd=cmd)
    stop = add_command(commands, "stop", help="stop the music (--server: and the server)",
                       description="Stop playback; the queue and its place stay. With --server, also shut the "
                       "server down (the next command or `auralis` starts it again).")  # fmt: skip
    stop.add_argument("--server", action="store_true", help="also shut the server down")
    add_json(stop)
    stop.set_defaults(run=run_stop)
    seek = add_command(commands, "seek", help="seek: +S / -S seconds from now, S or M:SS from the start")
    seek.add_argument("to", metavar="±S|S|M:SS")
    add_json(seek)
    seek.set_defaults(run=run_seek)
    volume = add_command(commands, "volume", help="volume 0–100, or ±N steps")
    volume.add_argument("level", metavar="±N|N")
    add_json(volume)
    volume.set_defaults(run=run_volume)
    mode = add_command(commands, "mode", help="turn repeat, random, single or consume on or off")
    mode.add_argument("mode", choices=("repeat", "random", "single", "consume"))
    mode.add_argument("on", choices=("on", "off"), nargs="?", help="default: switch")
    add_json(mode)
    mode.set_defaults(run=run_mode)
    _register_queue(commands)


def _register_queue(commands: argparse._SubParsersAction) -> None:
    queue = add_command(commands, "queue", help="show or edit the play queue",
                        description="Without an action: list the queue (▶ marks the current track).")  # fmt: skip
    add_json(queue)
    queue.set_defaults(run=run_queue_list)
    actions = queue.add_subparsers(dest="action", metavar="ACTION")
    listing = actions.add_parser("list", help="list the queue")
    add_json(listing)
    listing.set_defaults(run=run_queue_list)
    add = actions.add_parser("add", help="queue files, folders (recursively) or the paths a query returns")
    add.add_argument("paths", nargs="*", metavar="PATH")
    add.add_argument("--query", metavar="SQL", help="a read-only query whose `path` column names the tracks")
    add.add_argument("--next", action="store_true", help="right after the current track")
    add.add_argument("--play", action="store_true", help="play the first of them now")
    add_json(add)
    add.set_defaults(run=run_queue_add)
    clear = actions.add_parser("clear", help="empty the queue (stops the music)")
    add_json(clear)
    clear.set_defaults(run=run_simple, cmd="clear")
    remove = actions.add_parser("remove", help="remove the track at position N (1 = first)")
    remove.add_argument("position", type=int, metavar="N")
    add_json(remove)
    remove.set_defaults(run=run_queue_remove)
    move = actions.add_parser("move", help="move the track at position A to position B")
    move.add_argument("source", type=int, metavar="A")
    move.add_argument("target", type=int, metavar="B")
    add_json(move)
    move.set_defaults(run=run_queue_move)


def ask(args: argparse.Namespace, cmd: str, start: bool = True, **request: object) -> object:
    """One request to the home's server (started, detached, when none runs and ``start``)."""
    from ..server.client import Connection

    connection = Connection(home(args), start=start, audio=not getattr(args, "no_audio", False))
    try:
        return connection.request(cmd, **request)
    finally:
        connection.close()


def status_line(status: dict) -> str:
    """``▶ [2/12] Glass Horizon  1:02 / 4:31  vol 80%  repeat · mastered``."""
    from ..formats import printable
    from ..ui.format import minutes

    mark = {"playing": "▶", "paused": "❚❚", "stopped": "■"}[status["state"]]
    parts = [f"{mark} {status['state']}"]
    if status["pos"] is not None:
        parts.append(f"[{status['pos'] + 1}/{status['queue_length']}] {printable(status['title'])}")
        parts.append(f"{minutes(status['position'])} / {minutes(status['duration'])}")
    else:
        parts.append(f"queue {status['queue_length']}")
    parts.append(f"vol {status['volume']}%")
    modes = [name for name, on in status["modes"].items() if on]
    if modes:
        parts.append(" ".join(modes))
    if status["state"] != "stopped":
        parts.append(status["heard"])
    if status["message"]:
        parts.append(f"({printable(status['message'])})")
    return "  ".join(parts)


def report(args: argparse.Namespace, result: dict) -> int:
    print_json(result) if args.json else print(status_line(result))
    return 0


def run_simple(args: argparse.Namespace) -> int:
    return report(args, ask(args, args.cmd))


def run_stop(args: argparse.Namespace) -> int:
    from ..server import runtime

    if args.server:
        if runtime.running_pid(home(args)) is None:
            print("no server was running")
            return 0
        result = ask(args, "stop", start=False)
        ask(args, "shutdown", start=False)
        if not args.json:
            print("server stopped")
            return 0
        return report(args, result)
    return report(args, ask(args, "stop"))


def seconds_of(text: str) -> tuple[float, bool]:
    """``+5`` / ``-5`` (relative), ``90``, ``1:30`` or ``1:02:30`` (from the start)."""
    relative = text[:1] in "+-"
    parts = (text[1:] if relative else text).split(":")
    try:
        values = [float(part) for part in parts]
    except ValueError:
        values = []
    clock = all(math.isfinite(value) and value >= 0 for value in values) and all(v < 60 for v in values[1:])
    if not 0 < len(values) <= 3 or not clock:  # 1:99 is no time (it was read as 2:39)
        raise UserError(f"seek to what? {text!r} is not ±S, S, M:SS or H:MM:SS")
    value = sum(part * 60**n for n, part in enumerate(reversed(values)))
    return (-value if text.startswith("-") else value), relative


def run_seek(args: argparse.Namespace) -> int:
    seconds, relative = seconds_of(args.to)
    return report(args, ask(args, "seek", seconds=seconds, relative=relative))


def run_volume(args: argparse.Namespace) -> int:
    try:
        value = int(args.level)
    except ValueError:
        raise UserError(f"volume is a whole number 0–100 or ±N, not {args.level!r}") from None
    return report(args, ask(args, "volume", value=value, relative=args.level[:1] in "+-"))


def run_mode(args: argparse.Namespace) -> int:
    on = (args.on == "on") if args.on else not ask(args, "status")["modes"][args.mode]
    return report(args, ask(args, "mode", mode=args.mode, on=on))


def run_queue_list(args: argparse.Namespace) -> int:
    from ..formats import printable

    status, listing = ask(args, "status"), ask(args, "queue")
    if args.json:
        print_json(listing)
        return 0
    for item in listing["items"]:
        mark = "▶" if item["id"] == status["id"] else " "
        print(f"{mark} {item['pos'] + 1:4d}  {printable(item['title'])}  ({printable(item['path'])})")
    if not listing["items"]:
        print("the queue is empty (`auralis queue add PATH`)")
    return 0


def run_queue_add(args: argparse.Namespace) -> int:
    paths = [*_expand(args.paths), *(_query_paths(args) if args.query else [])]
    if not paths:
        raise UserError("nothing to add: give files, folders or --query")
    from ..server.client import chunks

    first, *rest = chunks(paths)
    result = ask(args, "add", paths=first, next=args.next, play=args.play)
    at, ids = result["at"] + len(first), result["ids"]
    for chunk in rest:  # a big folder: the rest follows the first run, in order
        ids += ask(args, "add", paths=chunk, pos=at)["ids"]
        at += len(chunk)
    result = {**ask(args, "status"), "ids": ids} if rest else result
    if args.json:
        print_json(result)
        return 0
    print(f"queued {len(ids)} track{'s' * (len(ids) != 1)}; {status_line(result)}")
    return 0


def _expand(paths: list[str]) -> list[str]:
    """Files as given, folders as the audio files under them in natural order."""
    from pathlib import Path

    from ..library import walk_audio_files
    from ..naturalsort import natural_key

    found = []
    for given in paths:
        path = Path(given).expanduser().resolve()
        if path.is_dir():
            found += sorted((entry.path for entry in walk_audio_files(path)), key=natural_key)
        elif path.is_file():
            found.append(str(path))
        else:
            raise UserError(f"{given}: no such file or folder")
    return found


def _query_paths(args: argparse.Namespace) -> list[str]:
    from ..store import run_user_query

    result = run_user_query(home(args), args.query)
    if "path" not in result.columns:
        raise UserError("the query must return a `path` column, e.g. SELECT path FROM tracks WHERE type = 'live'")
    column = result.columns.index("path")
    return [str(row[column]) for row in result.rows if row[column]]


def run_queue_remove(args: argparse.Namespace) -> int:
    return report(args, ask(args, "remove", pos=args.position - 1))


def run_queue_move(args: argparse.Namespace) -> int:
    return report(args, ask(args, "move", source=args.source - 1, target=args.target - 1))
