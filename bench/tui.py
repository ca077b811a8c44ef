"""App benchmark: start to first frame (a cold start that also starts the music server, and an
attach to a running one), rating key to line on disk, event-loop stalls, idle and playing CPU
(the app and its server), memory with a 10,000-track library, and a random 200-key session
checked key by key.

    python bench/tui.py

Baselines measured in the same run: a bare `python -c "import textual"` start for the start-up
figure, a bare Textual app's first frame for the attach figure, and one fsynced append for the
rating figure.

The attach figure reads the app's output from a pseudo-terminal (80x24) until the text is in it:
polling `tmux capture-pane` every few ms starts a process each time, which on a loaded 2-core
machine takes CPU from the app it measures.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import pty
import select
import shutil
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import time
from pathlib import Path

sys.path[0] = str(Path(__file__).resolve().parents[1])

from textual import events

from auralis_tui import feedback, store
from auralis_tui.demo import build_demo
from auralis_tui.library import scan
from auralis_tui.server import runtime
from auralis_tui.ui.app import AuralisApp
from engine.fingerprint import FINGERPRINT_VERSION

AURALIS = Path(sys.executable).with_name("auralis")


def tmux(*args: str) -> str:
    return subprocess.run(["tmux", *args], capture_output=True, text=True).stdout


SESSION = f"auralis-bench-{os.getpid()}"


def first_frame(home: Path, fragment: str, sound_home: Path | None = None) -> tuple[float, int]:
    """Seconds from launching the app in an 80x24 tmux pane until ``fragment`` is on screen; its pid.
    With ``sound_home`` (a HOME whose ALSA config the audio uses) the app opens its audio device."""
    session = SESSION
    start = time.perf_counter()
    command = f"env HOME={sound_home} {AURALIS} --home {home}" if sound_home else f"{AURALIS} --home {home} --no-audio"
    tmux("new-session", "-d", "-s", session, "-x", "80", "-y", "24", command)
    while fragment not in tmux("capture-pane", "-p", "-t", session):
        if time.perf_counter() - start > 60:
            raise SystemExit(f"{fragment!r} never appeared")
        time.sleep(0.005)
    seconds = time.perf_counter() - start
    pid = int(tmux("list-panes", "-t", session, "-F", "#{pane_pid}").strip())
    return seconds, pid


BARE_APP = """
from textual.app import App
from textual.widgets import Static

class Bare(App):
    def compose(self):
        yield Static("Glass Horizon")

Bare().run()
"""


def pty_frame(argv: list[str], fragment: str) -> float:
    """Seconds from starting ``argv`` on an 80x24 pseudo-terminal until it has written ``fragment``;
    the process is then ended (SIGTERM) and reaped."""
    start = time.perf_counter()
    pid, fd = pty.fork()
    if pid == 0:  # the child: the app, on the terminal
        os.environ["TERM"] = "xterm-256color"
        os.execv(argv[0], argv)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    seen, wanted = b"", fragment.encode()
    try:
        while wanted not in seen:
            if not select.select([fd], [], [], 60)[0]:
                raise SystemExit(f"{fragment!r} never appeared")
            seen = seen[-4096:] + os.read(fd, 1 << 16)
        return time.perf_counter() - start
    finally:
        os.kill(pid, signal.SIGTERM)
        with contextlib.suppress(OSError):
            while os.read(fd, 1 << 16):  # drain: the app restores the terminal as it ends
                pass
        os.waitpid(pid, 0)
        os.close(fd)


def attach_frames(home: Path, runs: int = 7) -> tuple[list[float], list[float]]:
    """First frames (library rows on screen) of apps attaching to the home's running server, and
    of a bare Textual app, interleaved."""
    attach, bare = [], []
    for _ in range(runs):
        bare.append(pty_frame([sys.executable, "-c", BARE_APP], "Glass Horizon"))
        attach.append(pty_frame([str(AURALIS), "--home", str(home), "--no-audio"], "Glass Horizon"))
    return attach, bare


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of ``pid`` so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_and_memory(pid: int, seconds: float = 5.0) -> tuple[float, float]:
    """Share of one core used over ``seconds`` while idle, and peak RSS (MB)."""
    before, start = cpu_seconds(pid), time.perf_counter()
    time.sleep(seconds)
    used = (cpu_seconds(pid) - before) / (time.perf_counter() - start)
    peak = next(line for line in Path(f"/proc/{pid}/status").read_text().splitlines() if line.startswith("VmHWM"))
    return used, int(peak.split()[1]) / 1024


def stop(pid: int) -> None:
    tmux("kill-session", "-t", SESSION)
    time.sleep(0.2)


def stop_server(home: Path) -> None:
    subprocess.run([AURALIS, "--home", str(home), "stop", "--server"], capture_output=True)


def playing_cpu(home: Path, folder: Path) -> tuple[float, float]:
    """CPU seconds the app spends per second of audio it plays (the whole demo list from the top),
    and the audio seconds played.

    The ALSA file sink of DESIGN §6 never waits, so the player runs flat out and the whole list
    plays in seconds; CPU per audio second is then the share of one core that real-time playback
    takes (decode, chain, callback, the UI's 4 Hz refresh meanwhile)."""
    sound = folder / "alsa-home"
    sound.mkdir()
    sink = 'pcm.!default {\n type file\n slave.pcm "null"\n file "/dev/null"\n format "raw"\n}\n'
    (sound / ".asoundrc").write_text(sink)
    _, pid = first_frame(home, "Iron Tide", sound)
    time.sleep(3)  # the panels behind the library load and the server opens the audio device
    server = runtime.running_pid(home)
    seconds = sum(row["duration"] for row in store.library_rows(home, FINGERPRINT_VERSION))
    both = lambda: cpu_seconds(pid) + cpu_seconds(server)  # noqa: E731 - the app and the server that plays
    before = both()
    tmux("send-keys", "-t", SESSION, "Enter")
    time.sleep(1)
    last = both()
    while True:  # until the list has played: both processes are idle again
        time.sleep(1)
        now = both()
        if now - last < 0.05:
            break
        last = now
    stop(pid)
    stop_server(home)
    return (last - before) / seconds, seconds


async def interactive(home: Path) -> tuple[list[float], float]:
    """Rating latencies (key → line on disk) and the worst event-loop stall over a session."""
    app = AuralisApp(home, audio=False)
    stalls = [0.0]
    async with app.run_test(size=(80, 24)) as pilot:
        loop = asyncio.get_running_loop()
        expected = [loop.time()]

        def probe() -> None:
            now = loop.time()
            stalls[0] = max(stalls[0], now - expected[0])
            expected[0] = now + 0.01

        await app.workers.wait_for_complete()
        expected[0] = loop.time() + 0.01
        app.set_interval(0.01, probe)
        log = feedback.log_path(home)
        latencies = []
        for stars in "1234512345":
            size = log.stat().st_size
            start = time.perf_counter()
            # The key event as the terminal driver posts it (Pilot.press also waits ~90 ms for the
            # screen to go idle, which is the test harness, not the app).
            app.post_message(events.Key(stars, stars))
            while log.stat().st_size == size:
                await asyncio.sleep(0.0005)
            latencies.append(time.perf_counter() - start)
            await pilot.press("down")
        for key in ("f2", "f3", "f4", "f5", "f6", "f1", "slash", "m", "e", "escape"):
            await pilot.press(key)
            await pilot.pause(0.05)
        await app.workers.wait_for_complete()
        await pilot.pause(0.2)
    return latencies, stalls[0]


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="auralis-bench-") as tmp:
        folder = Path(tmp)
        demo = folder / "demo"
        build_demo(demo)
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import textual"], check=True)
        bare = time.perf_counter() - start
        seconds, pid = first_frame(demo, "Glass Horizon")  # the app also starts the server
        time.sleep(3)  # let the panels behind the library finish loading: then it is idle
        cpu, memory = cpu_and_memory(pid)
        stop(pid)
        attach, bare_app = attach_frames(demo)  # the server runs on: each app attaches
        load = os.getloadavg()[0]
        stop_server(demo)
        playing, played = playing_cpu(demo, folder)
        print(f"start to first frame with the library shown: {seconds:.2f} s (target <= 1.5 s; bare "
              f"`import textual` process {bare:.2f} s)")  # fmt: skip
        print(
            f"attach to a running server, first frame with the library: median {statistics.median(attach):.2f} s, "
            f"{min(attach):.2f}-{max(attach):.2f} s in {len(attach)} (target <= 1.0 s); a bare Textual app "
            f"{statistics.median(bare_app):.2f} s ({min(bare_app):.2f}-{max(bare_app):.2f}); "
            f"ratio {statistics.median(attach) / statistics.median(bare_app):.1f}; load average {load:.1f}"
        )
        print(f"idle CPU, app open (4 Hz refresh): {cpu:.1%} of one core")
        print(f"playing: {playing:.1%} of one core per second of audio ({played:.0f} s of audio, the demo list "
              "through the mastering chain; target <= 3 %)")  # fmt: skip
        latencies, stall = asyncio.run(interactive(demo))
        append_start = time.perf_counter()
        feedback.append(demo, feedback.read_log(demo).events[-1] | {"id": "bench-baseline"})
        append = time.perf_counter() - append_start
        print(f"rating key → line on disk: median {statistics.median(latencies) * 1e3:.0f} ms, max "
              f"{max(latencies) * 1e3:.0f} ms (target <= 50 ms; one bare append {append * 1e3:.1f} ms)")  # fmt: skip
        print(f"longest event-loop stall during the session: {stall * 1e3:.0f} ms (target <= 50 ms)")
        session_home = folder / "session"
        shutil.copytree(demo, session_home)
        sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
        from keysession import run_session

        violations = run_session(session_home, seed=int(time.time()), presses=200)
        print(f"random 200-key session: {len(violations)} key(s) reached an action the focused panel doesn't "
              "show, or wrote what the key doesn't say (target 0)")  # fmt: skip
        for violation in violations:
            print(f"  {violation}")
        big = folder / "big"
        sys.path.insert(0, str(Path(__file__).parent))
        from library import make_library

        make_library(big / "music", 10_000)
        scan(big / "home", big / "music", analyse=False)
        seconds, pid = first_frame(big / "home", "Track")
        time.sleep(2)
        _, memory = cpu_and_memory(pid, 1.0)
        stop(pid)
        stop_server(big / "home")
        print(f"10,000-track library: first frame {seconds:.2f} s, peak memory {memory:.0f} MB (target <= 300 MB)")


if __name__ == "__main__":
    main()
