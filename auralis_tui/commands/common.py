"""What every command module shares: the user-error type, the data home, output helpers."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


class UserError(Exception):
    """A problem the user can fix; printed as one line, exit code 1."""


#: Parent parser giving every subcommand its own ``--home`` (``auralis fingerprint F --home D``).
HOME = argparse.ArgumentParser(add_help=False)
HOME.add_argument("--home", metavar="DIR", default=argparse.SUPPRESS, help="data directory")


def add_command(commands: argparse._SubParsersAction, name: str, **kwargs) -> argparse.ArgumentParser:
    """A subcommand parser that also accepts ``--home``."""
    return commands.add_parser(name, parents=[HOME], **kwargs)


def home(args: argparse.Namespace) -> Path:
    from ..paths import data_home

    return data_home(getattr(args, "home", None))


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def since(text: str | None):
    """``--since``/``--older-than`` as a naive UTC datetime; None stays None."""
    from ..insights import parse_since

    if text is None:
        return None
    try:
        return parse_since(text)
    except ValueError as exc:
        raise UserError(str(exc)) from None


def invocation() -> str:
    """How to run this very ``auralis`` from a shell: ``auralis`` when that is what PATH finds,
    else the script's absolute path, else ``python -m auralis_tui`` with this interpreter."""
    import shlex
    import shutil

    script = Path(sys.argv[0])
    if script.name == "auralis":
        found = shutil.which("auralis")
        if found and Path(found).resolve() == script.resolve():
            return "auralis"
        return shlex.quote(str(script.resolve()))
    return f"{shlex.quote(sys.executable)} -m auralis_tui"


def print_json(data: object) -> None:
    from ..formats import write_json

    write_json(data, sys.stdout)


def print_table(columns: list[str], rows: list[tuple]) -> None:
    from ..formats import write_table

    write_table(columns, rows, sys.stdout)


def cell(value: object) -> object:
    """A summary value for a table: floats to two places, a missing value as a dash."""
    if value is None:
        return "–"
    return f"{value:.2f}" if isinstance(value, float) else value


def add_json(parser: argparse.ArgumentParser, text: str = "machine-readable output") -> None:
    parser.add_argument("--json", action="store_true", help=text)


def add_group(commands: argparse._SubParsersAction, name: str, **kwargs) -> argparse._SubParsersAction:
    """A command with its own subcommands (``auralis profiles list``); one of them is required."""
    parser = add_command(commands, name, **kwargs)
    return parser.add_subparsers(dest="action", metavar="ACTION", required=True)
