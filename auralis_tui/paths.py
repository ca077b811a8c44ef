"""Where Auralis keeps its data: ``--home``, else ``$AURALIS_HOME``, else the platform data dir."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

HOME_ENV = "AURALIS_HOME"


def data_home(override: str | Path | None = None) -> Path:
    """The data root, created on demand."""
    if override:
        root = Path(override)
    elif os.environ.get(HOME_ENV):
        root = Path(os.environ[HOME_ENV])
    else:
        root = Path(platformdirs.user_data_dir("auralis", appauthor=False))
    root = root.expanduser().resolve()
    root.mkdir(parents=True, exist_ok=True)
    return root
