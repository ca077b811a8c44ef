"""A home with its music server, driven as a user would: ``auralis`` commands in subprocesses and
raw protocol clients, and the real `mpc` and python-mpd2 for the MPD frontend. The ALSA file sink
(DESIGN §6) is the audio device; every test stops its server (and kills it if it would not stop)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import mpd as mpd2
import tomlkit

from auralis_tui.server import runtime

from conftest import end_server, wait_until

AURALIS = str(Path(sys.executable).with_name("auralis"))


class Served:
    def __init__(self, home: Path, sink: Path) -> None:
        self.home, self.sink = home, sink
        self.env = {**os.environ, "HOME": str(sink)}

    def cli(
        self, *args: str, check: bool = True, timeout: float = 120, cwd: Path | None = None
    ) -> subprocess.CompletedProcess:
        result = subprocess.run([AURALIS, "--home", str(self.home), *args], env=self.env, capture_output=True,
                                text=True, timeout=timeout, cwd=cwd)  # fmt: skip
        if check and result.returncode != 0:
            raise AssertionError(f"auralis {' '.join(args)} → {result.returncode}: {result.stderr}")
        return result

    def json(self, *args: str) -> dict:
        return json.loads(self.cli(*args, "--json").stdout)

    def status(self) -> dict:
        return self.json("status")

    def wait_status(self, condition, what: str) -> dict:
        """Poll the server (a raw client: no process start per poll) until ``condition(status)``."""

        def check() -> dict | None:
            client = self.raw()
            try:
                status = client.ask("status")["result"]
            finally:
                client.close()
            return status if condition(status) else None

        return wait_until(check, what, poll=0.05)

    def pid(self) -> int | None:
        return runtime.running_pid(self.home)

    def raw(self) -> RawClient:
        return RawClient(runtime.socket_path(self.home))

    def feedback(self) -> list[dict]:
        path = self.home / "personal/feedback/ratings.jsonl"
        return [json.loads(line) for line in path.read_bytes().splitlines()] if path.exists() else []

    def stop(self) -> None:
        end_server(self.home)


class RawClient:
    """A protocol client with nothing of ours in it: bytes in, JSON lines out."""

    def __init__(self, path: Path) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(60)
        self.sock.connect(str(path))
        self.lines = self.sock.makefile("rb")
        self.hello = json.loads(self.lines.readline())

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def ask(self, cmd: str, request_id: object = 1, **args: object) -> dict:
        self.send(json.dumps({"id": request_id, "cmd": cmd, "args": args}).encode() + b"\n")
        return self.reply()

    def reply(self) -> dict:
        while True:
            message = json.loads(self.lines.readline())
            if "event" not in message:
                return message

    def close(self) -> None:
        self.sock.close()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def configure(home, listen: str, password: str | None = None) -> None:
    path = home / "config.toml"
    document = tomlkit.parse(path.read_text())
    table = document.setdefault("mpd", tomlkit.table())
    table["listen"] = listen
    if password is not None:
        table["password"] = password
    path.write_text(tomlkit.dumps(document))


class MPDServed(Served):
    def __init__(self, home, sink) -> None:
        super().__init__(home, sink)
        self.port = free_port()
        configure(home, f"127.0.0.1:{self.port}")

    def mpc(self, *args: str, host: str = "127.0.0.1", check: bool = True) -> str:
        result = subprocess.run(["mpc", "-h", host, "-p", str(self.port), *args], capture_output=True, text=True,
                                timeout=60)  # fmt: skip
        if check and result.returncode != 0:
            raise AssertionError(f"mpc {' '.join(args)} → {result.returncode}: {result.stderr}")
        return result.stdout if check else result.stdout + result.stderr

    def client(self) -> mpd2.MPDClient:
        client = mpd2.MPDClient()
        client.timeout = 60
        client.connect("127.0.0.1", self.port)
        return client

    def mpd_socket(self) -> socket.socket:
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=60)
        assert sock.makefile("rb").readline().startswith(b"OK MPD ")
        return sock
