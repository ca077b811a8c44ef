"""Keeping C libraries' chatter off the terminal.

libsndfile's MP3 decoder (libmpg123) writes notes such as ``Note: Illegal Audio-MPEG-Header …`` and
``Trying to resync...`` straight to file descriptor 2, past Python; the decoder's verdict reaches us
as an error code anyway. While a library call runs, fd 2 points at the null device (opened once:
the player reads ~20 blocks a second through here). Nested and concurrent calls share one
redirection (a count under a lock); the last one to finish restores fd 2. Python's own
``sys.stderr`` writes in that window are discarded too, so a process that
draws on fd 2 from another thread (Textual does) must draw on a duplicate of it instead.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_depth = 0
_saved_fd = -1
_null_fd = -1


@contextmanager
def library_noise_silenced() -> Iterator[None]:
    """Run the body with fd 2 pointing at the null device."""
    global _depth, _saved_fd, _null_fd
    with _lock:
        if _depth == 0:
            if sys.stderr is not None:
                sys.stderr.flush()
            if _null_fd < 0:
                _null_fd = os.open(os.devnull, os.O_WRONLY | os.O_CLOEXEC)
            _saved_fd = os.dup(2)
            os.dup2(_null_fd, 2)
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0:
                os.dup2(_saved_fd, 2)
                os.close(_saved_fd)
