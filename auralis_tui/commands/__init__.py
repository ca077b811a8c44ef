"""One module per command group; each registers its subparsers beside the handlers that read them.

Modules import only argparse-level things at the top (and the lists of choices they offer, from the
module that owns them); the services a handler needs are imported when it runs.
"""

from __future__ import annotations

import argparse
import importlib

#: Each group's module → the commands it registers, in the order ``auralis --help`` lists them.
GROUPS: dict[str, tuple[str, ...]] = {
    "fingerprint": ("fingerprint",), "master": ("master",), "scan": ("scan",), "rate": ("rate",),
    "analyze": ("analyze",), "sql": ("sql",), "profiles": ("update-profile", "profiles"), "personal": ("personal",),
    "control": ("status", "toggle", "pause", "next", "prev", "stop", "seek", "volume", "mode", "queue"),
    "server": ("serve", "service"), "playback": ("play", "devices"), "abtest": ("abtest",),
    "privacy": ("export", "forget", "sharing"),
    "app": ("demo",),
}  # fmt: skip


def register_all(commands: argparse._SubParsersAction, command: str | None = None) -> None:
    """Register every group, or only the one that owns ``command``: a command then imports just its
    own module and the choices it offers (start-up time); ``--help`` or an unknown name gets them all."""
    owners = [module for module, names in GROUPS.items() if command in names] or list(GROUPS)
    for module in owners:
        importlib.import_module(f"{__name__}.{module}").register(commands)
