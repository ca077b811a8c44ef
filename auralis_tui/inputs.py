"""What a command may read: a regular file this process can open, or one line saying why not.

Light on purpose (no numpy, no soundfile): `rate` checks its file before it knows whether the
library's cache spares it the decoding."""

from __future__ import annotations

import errno
import stat
from pathlib import Path

from engine.errors import AudioError


def readable_file(path: str | Path) -> Path:
    """``path`` when it is a regular file this process can read; otherwise ``AudioError`` naming
    the real cause: no such file, symlink loop, a folder, a pipe or device, permission denied."""
    path = Path(path)
    try:
        status = path.stat()
    except FileNotFoundError:
        raise AudioError(path, "no such file") from None
    except OSError as exc:
        reason = "symlink loop" if exc.errno == errno.ELOOP else (exc.strerror or str(exc)).lower()
        raise AudioError(path, reason) from None
    if stat.S_ISDIR(status.st_mode):
        raise AudioError(path, "a folder, not a file")
    if not stat.S_ISREG(status.st_mode):
        raise AudioError(path, "not a regular file (a pipe, socket or device)")
    try:
        with open(path, "rb"):
            pass
    except PermissionError:
        raise AudioError(path, "permission denied") from None
    return path
