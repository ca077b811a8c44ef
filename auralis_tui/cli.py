"""The ``auralis`` command line: parse, call a service, print. Exit 0 ok, 1 error, 2 usage.

Each command lives in ``auralis_tui/commands/`` with its parser; this module only builds the
top-level parser and turns the errors a user can fix into one line on stderr. It imports no
service: a command loads what it uses, so ``auralis --version`` or ``profiles list`` start fast.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable, Sequence

from . import __version__
from .commands import register_all
from .formats import printable
from .tuning import one_blas_thread, small_pages

#: The errors a user can fix (module, class): one line on stderr, exit 1. They are looked up only in
#: modules already imported — a module that was never imported cannot have raised — so naming them
#: here imports nothing.
USER_ERRORS = (
    ("engine.errors", "AudioError"), ("engine.errors", "ProfileError"),
    ("auralis_tui.commands.common", "UserError"), ("auralis_tui.config", "ConfigError"),
    ("auralis_tui.store", "QueryRefused"), ("auralis_tui.store", "StoreError"),
    ("auralis_tui.feedback", "FeedbackError"), ("auralis_tui.errors", "AudioUnavailable"),
    ("auralis_tui.errors", "Refused"), ("auralis_tui.server.runtime", "ServerUnavailable"),
    ("auralis_tui.server.client", "ServerError"),
)  # fmt: skip


def is_user_error(exc: BaseException) -> bool:
    return any(
        isinstance(exc, getattr(sys.modules[module], name)) for module, name in USER_ERRORS if module in sys.modules
    )


class _StderrLine(logging.Handler):
    """Warnings from the services (a busy database, a cut comment): one ``auralis:`` line each."""

    def emit(self, record: logging.LogRecord) -> None:
        print(f"auralis: {printable(record.getMessage())}", file=sys.stderr)


def _say_warnings() -> None:
    logger = logging.getLogger("auralis")
    if not any(isinstance(h, _StderrLine) for h in logger.handlers):
        logger.addHandler(_StderrLine(logging.WARNING))
        logger.propagate = False


def keep_python_stderr_apart() -> None:
    """Python's stderr (our messages, and the app: Textual draws on ``sys.__stderr__``) moves to a
    duplicate of fd 2, because ``engine.quiet`` points fd 2 itself at a scratch file while a C
    library decodes, in whatever thread. Left alone when a harness has replaced ``sys.stderr``."""
    if sys.stderr is None or sys.stderr is not sys.__stderr__ or sys.stderr.fileno() != 2:
        return  # replaced by a harness, or already apart (a second main() in one process)
    encoding, errors = sys.stderr.encoding, sys.stderr.errors
    sys.stderr.flush()
    sys.stderr = sys.__stderr__ = os.fdopen(os.dup(2), "w", buffering=1, encoding=encoding, errors=errors)


def command_word(argv: Sequence[str]) -> str | None:
    """The command in ``argv``: its first word that is neither a top-level option nor ``--home``'s value."""
    words = iter(argv)
    for word in words:
        if word == "--home":
            next(words, None)
        elif not word.startswith("-"):
            return word
    return None


def build_parser(argv: Sequence[str] = ()) -> argparse.ArgumentParser:
    """The parser for ``argv``: its command's group only, or every command when it names none."""
    parser = argparse.ArgumentParser(
        prog="auralis",
        description="Listen to your library on a headless box, rate with single keys, and let the "
        "ratings tune a versioned mastering profile.",
    )
    parser.add_argument("--version", action="version", version=f"auralis {__version__}")
    parser.add_argument("--home", metavar="DIR", help="data directory (default: $AURALIS_HOME or the user data dir)")
    parser.add_argument("--no-audio", action="store_true", help="open the app without sound (rating still works)")
    register_all(parser.add_subparsers(dest="command", metavar="COMMAND"), command_word(argv))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    one_blas_thread()
    small_pages()
    args = build_parser(argv).parse_args(argv)
    keep_python_stderr_apart()
    _say_warnings()
    run: Callable[[argparse.Namespace], int] | None = getattr(args, "run", None)
    if run is None:  # no command: open the app
        from .commands.app import run_app as run
    try:
        return run(args)
    except BrokenPipeError:  # e.g. `auralis profiles show x | head`
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - nothing more may reach the closed pipe
        return 0
    except Exception as exc:
        if is_user_error(exc):
            print(f"auralis: {printable(str(exc))}", file=sys.stderr)  # a file name may hold ESC
        elif isinstance(exc, OSError):
            message = f"{exc.filename or ''}: {exc.strerror or exc}".replace(": : ", ": ")
            print(f"auralis: {printable(message)}", file=sys.stderr)
        else:
            raise
        return 1
    except KeyboardInterrupt:
        print("auralis: interrupted", file=sys.stderr)
        return 130
