"""Where Auralis keeps its data: ``--home``, else ``$AURALIS_HOME``, else the platform data dir."""

from __future__ import annotations

import errno
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
    if root.exists() and not root.is_dir():  # mkdir would say only "File exists"
        raise NotADirectoryError(errno.ENOTDIR, "not a folder", str(root))
    root.mkdir(parents=True, exist_ok=True)
    return root


#: What Auralis keeps in its home that no export or render may overwrite (folders: all inside).
_KEPT = ("personal", "profiles", "config.toml", "library.duckdb", "library.duckdb.wal")


def refuse_overwrite(home: Path, target: str | Path, *inputs: str | Path) -> Path:
    """``target`` (resolved, symlinks followed) unless it is one of ``inputs`` or a file Auralis
    keeps in ``home`` (the feedback log, profiles, the personal layer, settings, the database)."""
    from .errors import Refused

    resolved = Path(os.path.realpath(Path(target).expanduser()))  # realpath: a symlink loop is no error here
    for source in inputs:
        source = Path(os.path.realpath(Path(source).expanduser()))
        if resolved == source or (resolved.exists() and source.exists() and os.path.samefile(resolved, source)):
            raise Refused(f"{target}: that is the input; write to another file")
    home = home.resolve()
    for name in _KEPT:
        kept = home / name
        if resolved == kept or kept in resolved.parents:
            raise Refused(f"{target}: that is Auralis's own data ({kept}); write somewhere else")
    return resolved
