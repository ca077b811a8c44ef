"""The ``auralis`` command line: parse, call a service, print. Exit 0 ok, 1 error, 2 usage.

Each command lives in ``auralis_tui/commands/`` with its parser; this module only builds the
top-level parser and turns the errors a user can fix into one line on stderr.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable, Sequence

from engine.errors import AudioError, ProfileError

from . import __version__
from .commands import register_all
from .commands.app import run_app
from .commands.common import UserError
from .config import ConfigError
from .errors import AudioUnavailable, Refused
from .feedback import FeedbackError
from .store import QueryRefused, StoreError

USER_ERRORS = (
    AudioError, ProfileError, UserError, ConfigError, QueryRefused, StoreError, FeedbackError, AudioUnavailable,
    Refused,
)  # fmt: skip


class _StderrLine(logging.Handler):
    """Warnings from the services (a busy database, a cut comment): one ``auralis:`` line each."""

    def emit(self, record: logging.LogRecord) -> None:
        print(f"auralis: {record.getMessage()}", file=sys.stderr)


def _say_warnings() -> None:
    logger = logging.getLogger("auralis")
    if not any(isinstance(h, _StderrLine) for h in logger.handlers):
        logger.addHandler(_StderrLine(logging.WARNING))
        logger.propagate = False


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="auralis",
        description="Listen to your library on a headless box, rate with single keys, and let the "
        "ratings tune a versioned mastering profile.",
    )
    parser.add_argument("--version", action="version", version=f"auralis {__version__}")
    parser.add_argument("--home", metavar="DIR", help="data directory (default: $AURALIS_HOME or the user data dir)")
    parser.add_argument("--no-audio", action="store_true", help="open the app without sound (rating still works)")
    register_all(parser.add_subparsers(dest="command", metavar="COMMAND"))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    _say_warnings()
    run: Callable[[argparse.Namespace], int] = getattr(args, "run", run_app)
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
