"""Where a home's server lives (socket, lock, log, saved state) and how it is found or started.

One server per data home: it holds an exclusive ``flock`` on ``server.lock`` for its whole life,
so a server that died (even by ``kill -9``) leaves nothing stale that matters — the kernel drops
the lock, and the next server removes the old socket file before it binds its own.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

START_SECONDS = 60.0  # a cold start imports numpy and opens the device; generous under load
SOCKET_PATH_LIMIT = 100  # sun_path holds 108 bytes


class ServerUnavailable(RuntimeError):
    """No server answers for this home and none could be started; the message says why."""


class AlreadyRunning(RuntimeError):
    def __init__(self, pid: int | None) -> None:
        super().__init__(f"a server already runs for this home (pid {pid or '?'})")
        self.pid = pid


def socket_path(home: Path) -> Path:
    """``<home>/server.sock``, or a private per-user directory when that path is too long for a socket."""
    path = home / "server.sock"
    if len(os.fsencode(path)) <= SOCKET_PATH_LIMIT:
        return path
    folder = Path(f"/tmp/auralis-{os.getuid()}")
    folder.mkdir(mode=0o700, exist_ok=True)
    if folder.stat().st_uid != os.getuid() or folder.stat().st_mode & 0o077:
        raise ServerUnavailable(f"{folder} is not a private directory of this user; remove it")
    return folder / f"{hashlib.sha256(os.fsencode(home)).hexdigest()[:20]}.sock"


def lock_path(home: Path) -> Path:
    return home / "server.lock"


def log_path(home: Path) -> Path:
    return home / "server.log"


class Lock:
    """The server's claim on its home: held until the process ends."""

    def __init__(self, home: Path) -> None:
        self.fd = os.open(lock_path(home), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            pid = running_pid(home)
            os.close(self.fd)
            raise AlreadyRunning(pid) from None
        os.ftruncate(self.fd, 0)
        os.pwrite(self.fd, f"{os.getpid()}\n".encode(), 0)

    def release(self) -> None:
        os.ftruncate(self.fd, 0)
        os.close(self.fd)


def running_pid(home: Path) -> int | None:
    """The pid of the server holding this home's lock, or None when none runs."""
    try:
        fd = os.open(lock_path(home), os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:  # held: a server runs
        text = os.pread(fd, 32, 0).decode(errors="replace").strip()
        return int(text) if text.isdigit() else None
    else:
        return None
    finally:
        os.close(fd)


def connect(home: Path, start: bool = True, audio: bool = True) -> socket.socket:
    """A connected socket to the home's server, starting one (detached) when none runs."""
    path = socket_path(home)
    try:
        return _dial(path)
    except (FileNotFoundError, ConnectionRefusedError):
        if not start:
            raise ServerUnavailable("no server is running for this home (start it with `auralis serve`)") from None
    process = spawn(home, audio)
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        try:
            return _dial(path)
        except (FileNotFoundError, ConnectionRefusedError):
            if process.poll() is not None and running_pid(home) is None:
                raise ServerUnavailable(f"the server did not start: {last_line(log_path(home))}") from None
            time.sleep(0.02)
    raise ServerUnavailable(f"the server did not answer within {START_SECONDS:.0f} s; see {log_path(home)}")


def _dial(path: Path) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(os.fspath(path))
    except OSError:
        sock.close()
        raise
    return sock


def spawn(home: Path, audio: bool = True) -> subprocess.Popen:
    """Start ``auralis serve --foreground`` detached from this terminal: its own session (no
    hang-up reaches it), stdin from /dev/null, output appended to ``server.log``. It runs in the
    home, and ``-P`` keeps the folder it was started from off its import path (``-m`` would put
    it first: a user's own ``engine/`` there would replace ours)."""
    sound = [] if audio else ["--no-audio"]
    command = [sys.executable, "-P", "-m", "auralis_tui", "--home", str(home), *sound, "serve", "--foreground"]
    with open(log_path(home), "ab") as log:
        return subprocess.Popen(
            command, cwd=home, stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True,
            close_fds=True,
        )  # fmt: skip


def last_line(path: Path) -> str:
    try:
        lines = path.read_text(errors="replace").strip().splitlines()
    except OSError:
        return "no log"
    return lines[-1] if lines else "no log"
