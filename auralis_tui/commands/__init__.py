"""One module per command group; each registers its subparsers beside the handlers that read them.

Modules import only argparse-level things at the top (and the lists of choices they offer, from the
module that owns them); the services a handler needs are imported when it runs.
"""

from __future__ import annotations

import argparse

from . import (
    abtest,
    analyze,
    app,
    control,
    fingerprint,
    master,
    personal,
    playback,
    privacy,
    profiles,
    rate,
    scan,
    server,
    sql,
)

#: In the order ``auralis --help`` lists them.
GROUPS = (
    fingerprint, master, scan, rate, analyze, sql, profiles, personal, control, server, playback, abtest, privacy, app,
)  # fmt: skip


def register_all(commands: argparse._SubParsersAction) -> None:
    for group in GROUPS:
        group.register(commands)
