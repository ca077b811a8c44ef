"""Music-server benchmark: request round trips (control socket and MPD), rating → line on disk,
the server's CPU idle and playing, its memory with a 10,000-track library, underruns under polling.

    python bench/server.py

Each server is a real `auralis serve --foreground` process whose audio device is the ALSA file sink
of DESIGN §6, piped into a reader that takes the bytes at the stream's real rate (float32 stereo at
44.1 kHz): the device is paced like a sound card, so the CPU while playing is a share of a core over
wall time and an underrun means the player was late for the device's clock.
Baselines, measured in the same run: a bare asyncio echo server for the round trips (the transport
floor), MPD `ping` beside MPD `status`, and the same server with the 12-track library for memory.
"""

from __future__ import annotations

import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path[0] = str(Path(__file__).resolve().parents[1])

import tomlkit

from auralis_tui import store
from auralis_tui.synth import CHARACTERS, render
from engine import audio

RATE = 44100
PACED_SINK = Path(__file__).resolve().parents[1] / "scripts" / "paced_sink.py"
TICKS = os.sysconf("SC_CLK_TCK")
ECHO = """
import asyncio, os, sys
async def answer(reader, writer):
    while line := await reader.readline():
        writer.write(b'{"id":1,"ok":true,"result":{}}\\n')
        await writer.drain()
async def main():
    server = await asyncio.start_unix_server(answer, path=sys.argv[1])
    print("ready", flush=True)
    await asyncio.Event().wait()
asyncio.run(main())
"""


#: Every process the benchmark starts: ``main`` ends any still running however it stops (a failed
#: assert or a Ctrl-C mid-run used to leave `auralis serve` processes playing into the sink).
STARTED: list[subprocess.Popen] = []


def started(process: subprocess.Popen) -> subprocess.Popen:
    STARTED.append(process)
    return process


def end_all() -> None:
    for process in STARTED:
        if process.poll() is None:
            process.terminate()
    for process in STARTED:
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class Server:
    """``auralis serve --foreground`` on ``home``, with the ALSA sink as its device."""

    def __init__(self, home: Path, sink: Path) -> None:
        env = {**os.environ, "HOME": str(sink)}
        command = [sys.executable, "-m", "auralis_tui", "--home", str(home), "serve", "--foreground"]
        self.process = started(subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE))
        self.path = home / "server.sock"
        deadline = time.monotonic() + 120
        while True:
            try:
                self.control = Control(self.path)
                break
            except (FileNotFoundError, ConnectionRefusedError):
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"the server did not start: {self.process.stderr.read().decode()}") from None
                time.sleep(0.05)

    def cpu_seconds(self, loop_only: bool = False) -> float:
        """CPU time of the whole process, or of its main thread only (the event loop: the server's
        own work, without the player's decoding and mastering threads)."""
        pid = self.process.pid
        stat = f"/proc/{pid}/task/{pid}/stat" if loop_only else f"/proc/{pid}/stat"
        fields = Path(stat).read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICKS

    def rss_mb(self) -> float:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def stop(self) -> None:
        self.control.close()
        self.process.terminate()
        self.process.wait(60)


class Control:
    """A raw control-protocol client: one request, one answer."""

    def __init__(self, path: Path) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(str(path))
        self.lines = self.sock.makefile("rb")
        self.lines.readline()  # hello (the echo server has none: see echo_round_trips)

    def ask(self, cmd: str, **args: object) -> dict:
        self.sock.sendall(json.dumps({"id": 1, "cmd": cmd, "args": args}).encode() + b"\n")
        while True:
            message = json.loads(self.lines.readline())
            if "event" not in message:
                return message

    def close(self) -> None:
        self.sock.close()


def timed(action, runs: int) -> tuple[float, float]:
    """p50 and p99 of ``action()`` in milliseconds."""
    costs = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        costs.append(time.perf_counter() - start)
    costs.sort()
    return costs[len(costs) // 2] * 1e3, costs[int(len(costs) * 0.99)] * 1e3


def echo_round_trips(folder: Path, runs: int) -> tuple[float, float]:
    path = folder / "echo.sock"
    echo = started(subprocess.Popen([sys.executable, "-c", ECHO, str(path)], stdout=subprocess.PIPE))
    echo.stdout.readline()
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(str(path))
    lines = sock.makefile("rb")

    def ask() -> None:
        sock.sendall(b'{"id":1,"cmd":"status","args":{}}\n')
        json.loads(lines.readline())

    try:
        return timed(ask, runs)
    finally:
        sock.close()
        echo.terminate()
        echo.wait()


def mpd_round_trips(port: int, command: bytes, runs: int) -> tuple[float, float]:
    sock = socket.create_connection(("127.0.0.1", port))
    lines = sock.makefile("rb")
    lines.readline()

    def ask() -> None:
        sock.sendall(command)
        while lines.readline() not in (b"OK\n", b""):
            pass

    try:
        return timed(ask, runs)
    finally:
        sock.close()


def rating_to_disk(server: Server, log: Path, runs: int) -> list[float]:
    """From sending ``record`` to the line being in the log (polled), ms, in the order sent."""
    costs = []
    for n in range(runs):
        size = log.stat().st_size if log.exists() else 0
        start = time.perf_counter()
        server.control.sock.sendall(json.dumps({"id": n, "cmd": "record", "args": {"rating": 1 + n % 5}}).encode()
                                    + b"\n")  # fmt: skip
        while not log.exists() or log.stat().st_size == size:
            time.sleep(0.0002)
        costs.append(time.perf_counter() - start)
        while json.loads(server.control.lines.readline()).get("id") != n:  # the answer (after learning)
            pass
    return [cost * 1e3 for cost in costs]


def cpu_share(server: Server, seconds: float) -> float:
    before, start = server.cpu_seconds(), time.monotonic()
    time.sleep(seconds)
    return (server.cpu_seconds() - before) / (time.monotonic() - start)


def start_cost(server: Server, warm: float = 3.0) -> float:
    """CPU seconds from ``play`` until ``warm`` seconds have sounded (the first play imports the
    chain's libraries and loads the profiles: paid once per server)."""
    before = server.cpu_seconds()
    server.control.ask("play")
    while server.control.ask("status")["result"]["position"] < warm:
        time.sleep(0.05)
    return server.cpu_seconds() - before


def playing_cost(server: Server, seconds: float) -> tuple[float, float, float]:
    """CPU seconds per second of audio played by the process and by its event loop, and audio
    seconds per wall second (1.0: the paced sink kept real time)."""
    played, before, start = 0.0, server.cpu_seconds(), time.monotonic()
    loop_before = server.cpu_seconds(loop_only=True)
    last = server.control.ask("status")["result"]
    while time.monotonic() - start < seconds:
        time.sleep(0.1)
        now = server.control.ask("status")["result"]
        played += now["position"] - last["position"] if now["id"] == last["id"] else now["position"]
        last = now
    wall = time.monotonic() - start
    loop = server.cpu_seconds(loop_only=True) - loop_before
    return (server.cpu_seconds() - before) / played, loop / played, played / wall


def pollers(path: Path, clients: int, hz: float, stop: threading.Event, answered: list) -> list[threading.Thread]:
    def poll() -> None:
        control = Control(path)
        while not stop.is_set():
            answered.append(control.ask("status")["ok"])
            stop.wait(1 / hz)
        control.close()

    threads = [threading.Thread(target=poll) for _ in range(clients)]
    for thread in threads:
        thread.start()
    return threads


def big_library(home: Path, music: Path, count: int) -> None:
    """``count`` synthetic rows beside the scanned ones (their files need not exist: nothing plays them)."""
    from engine.features import FINGERPRINT_VERSION

    (model,) = [row for row in store.library_rows(home, FINGERPRINT_VERSION) if row["fingerprint"]][:1]
    rows = [{"path": str(music / f"Artist {n % 400:03d}/Album {n % 900:03d}/{n:05d} Song {n}.flac"),
             "root": str(music), "size": 1, "mtime": 0.0, "artist": f"Artist {n % 400:03d}",
             "album": f"Album {n % 900:03d}", "title": f"Song {n}", "track_number": n % 12 + 1,
             "genre": "Test", "year": 2000 + n % 25, "duration": 200.0 + n % 100, "rate": RATE, "channels": 2,
             "missing": False} for n in range(count)]  # fmt: skip
    store.upsert_tracks(home, rows)
    store.save_analyses(home, [{"path": row["path"], "fingerprint": model["fingerprint"],
                                "fingerprint_version": FINGERPRINT_VERSION, "type": model["type"],
                                "confidence": model["confidence"], "error": None} for row in rows])  # fmt: skip


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def main() -> None:
    try:
        run()
    finally:
        end_all()


def run() -> None:
    with tempfile.TemporaryDirectory(prefix="auralis-bench-") as tmp:
        folder = Path(tmp)
        sink = folder / "alsa"
        sink.mkdir()
        reader = f"|{sys.executable} {PACED_SINK} {RATE * 2 * 4}"  # float32 stereo bytes per second
        (sink / ".asoundrc").write_text(  # DESIGN §6's sink, its bytes piped to a reader at the real rate
            f'pcm.!default {{\n type file\n slave.pcm "null"\n file "{reader}"\n format "raw"\n}}\n'
        )
        music, home = folder / "music", folder / "home"
        music.mkdir()
        for n, name in enumerate(("studio", "metal", "live")):
            audio.write(music / f"{n + 1:02d} {name}.flac", render(CHARACTERS[name], 60, RATE, seed=n), RATE)
        subprocess.run([sys.executable, "-m", "auralis_tui", "--home", str(home), "scan", str(music)],
                       check=True, capture_output=True)  # fmt: skip
        port = free_port()
        config = tomlkit.parse((home / "config.toml").read_text())
        config["mpd"]["listen"] = f"127.0.0.1:{port}"
        (home / "config.toml").write_text(tomlkit.dumps(config))

        small = Server(home, sink)
        small_rss = small.rss_mb()
        print(f"server start, 3-track library: RSS {small_rss:.0f} MB")
        floor = echo_round_trips(folder, 3000)
        control = timed(lambda: small.control.ask("status"), 3000)
        print(f"status over the control socket: p50 {control[0]:.2f} ms, p99 {control[1]:.2f} ms "
              f"(targets <= 2 / <= 10); bare asyncio echo {floor[0]:.2f} / {floor[1]:.2f} ms "
              f"(x{control[0] / floor[0]:.1f} at p50)")  # fmt: skip
        ping, status = mpd_round_trips(port, b"ping\n", 3000), mpd_round_trips(port, b"status\n", 3000)
        print(f"MPD status: p50 {status[0]:.2f} ms, p99 {status[1]:.2f} ms (target p50 <= 5); "
              f"MPD ping {ping[0]:.2f} ms (x{status[0] / ping[0]:.1f})")  # fmt: skip
        idle = cpu_share(small, 10)
        print(f"idle CPU: {idle:.2%} of a core over 10 s (target <= 1 %)")

        small.control.ask("add", paths=[str(p) for p in sorted(music.glob("*.flac"))])
        small.control.ask("mode", mode="repeat", on=True)
        first = start_cost(small)
        before = small.control.ask("status")["result"]["underruns"]
        per_second, loop, pace = playing_cost(small, 10)
        alone = small.control.ask("status")["result"]["underruns"] - before
        print(f"while playing: {per_second:.2%} of a core per second of audio, of which the event loop (the "
              f"server's own work) {loop:.2%} (target <= 3 %; the paced sink ran at {pace:.2f}x real time); "
              f"{alone} underruns in 10 s without clients; the first play: {first:.2f} CPU s to 3 s in")  # fmt: skip
        small.control.ask("pause")
        log = home / "personal/feedback/ratings.jsonl"
        to_disk = rating_to_disk(small, log, 40)
        print(f"rating from a client -> line on disk: p50 {statistics.median(to_disk):.1f} ms, "
              f"p95 {sorted(to_disk)[37]:.1f} ms, worst {max(to_disk):.1f} ms (the first: {to_disk[0]:.1f} ms) "
              "(target <= 50)")  # fmt: skip

        stop, answered = threading.Event(), []
        before = small.control.ask("status")["result"]["underruns"]
        small.control.ask("play")
        threads = pollers(small.path, 20, 10, stop, answered)
        _, loop, _ = playing_cost(small, 10)
        stop.set()
        for thread in threads:
            thread.join()
        underruns = small.control.ask("status")["result"]["underruns"] - before
        print(f"20 clients polling status at 10 Hz for 10 s ({len(answered)} answers, {answered.count(False)} "
              f"refused) while playing: {underruns} underruns (target 0; event loop {loop:.2%} per audio second)")
        small.stop()

        loaded = Server(home, sink)  # it resumes the paused track: the player holds its buffers
        loaded_rss = loaded.rss_mb()
        loaded.stop()
        big_library(home, music, 10_000)
        for saved in ("server-state.json", "server-queue.json"):  # an empty queue, as for the 3-track figure
            (home / saved).unlink(missing_ok=True)
        big = Server(home, sink)
        mpd_round_trips(port, b"listallinfo\n", 1)  # the whole catalog once, as a browsing client would
        big_rss = big.rss_mb()
        print(f"RSS with a 10,003-track library: {big_rss:.0f} MB (target <= 150); 3 tracks: {small_rss:.0f} MB "
              f"(+{big_rss - small_rss:.0f} MB for 10,000 tracks); with a paused track loaded, 3 tracks: "
              f"{loaded_rss:.0f} MB")  # fmt: skip
        status = mpd_round_trips(port, b"status\n", 1000)
        print(f"MPD status with 10,003 tracks: p50 {status[0]:.2f} ms")
        big.stop()

        huge = Server(home, sink)  # a whole large library queued: the per-second save and status stay small
        real = [str(p) for p in sorted(music.glob("*.flac"))]
        many = folder / "many"  # 100,000 names for the three real files (hard links: no copies)
        many.mkdir()
        links = [many / f"{n:06d} Song {n}.flac" for n in range(100_000)]
        for n, link in enumerate(links):
            os.link(real[n % 3], link)
        start = time.perf_counter()
        for at in range(0, len(links), 10_000):  # requests stay under the 1 MB line limit
            paths = (real if at == 0 else []) + [str(p) for p in links[at : at + 10_000]]
            answer = huge.control.ask("add", paths=paths)
            assert answer["ok"], answer
        queued = time.perf_counter() - start
        control = timed(lambda: huge.control.ask("status"), 1000)
        start_cost(huge)  # past the first play's imports
        per_second, loop, _ = playing_cost(huge, 10)
        assert huge.control.ask("status")["result"]["queue_length"] == 100_003
        print(f"100,003 queued tracks: queued in {queued:.1f} s (10 requests); status p50 {control[0]:.2f} ms, "
              f"p99 {control[1]:.2f} ms; playing {per_second:.2%} of a core per second of audio, event loop "
              f"{loop:.2%}; server-queue.json {(home / 'server-queue.json').stat().st_size / 1e6:.1f} MB, "
              f"server-state.json {(home / 'server-state.json').stat().st_size} bytes")  # fmt: skip
        huge.stop()


if __name__ == "__main__":
    main()
