"""Shared signal generators (every expected value from physics or a standard), waits on conditions, the ALSA sink."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import numpy as np
import pytest

# No animations in the app under test: a snapshot taken while the tab underline still slides
# would depend on the machine's load (read by Textual when first imported, so set here).
os.environ.setdefault("TEXTUAL_ANIMATIONS", "none")

T = TypeVar("T")

PACED_SINK = Path(__file__).resolve().parents[1] / "scripts" / "paced_sink.py"
WAIT_SECONDS = 60.0  # generous: the suite must stay green with both cores busy


def wait_until(condition: Callable[[], T], what: str, timeout: float = WAIT_SECONDS, poll: float = 0.01) -> T:
    """Poll ``condition`` until it returns something truthy and return that; fail naming ``what``."""
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(poll)
    return value


async def settle(app, pilot, condition: Callable[[], T], what: str, timeout: float = WAIT_SECONDS) -> T:
    """In a Pilot test: let workers finish and the screen refresh until ``condition`` holds."""
    deadline = time.monotonic() + timeout
    while True:
        await app.workers.wait_for_complete()
        await pilot.pause()
        if value := condition():
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        await pilot.pause(0.02)



def sine(freq: float, seconds: float, rate: int, dbfs: float = -20.0, phase: float = 0.0) -> np.ndarray:
    """A mono float64 sine whose *peak* is ``dbfs``."""
    t = np.arange(round(seconds * rate)) / rate
    return 10.0 ** (dbfs / 20.0) * np.sin(2 * np.pi * freq * t + phase)


def stereo(mono: np.ndarray) -> np.ndarray:
    return np.stack([mono, mono], axis=1).astype(np.float32)


def click_track(bpm: float, seconds: float, rate: int) -> np.ndarray:
    """10 ms Hann-windowed 1 kHz clicks on every beat, stereo."""
    out = np.zeros(int(seconds * rate))
    length = int(0.01 * rate)
    click = np.sin(2 * np.pi * 1000 * np.arange(length) / rate) * np.hanning(length)
    for start in (np.arange(0, seconds, 60.0 / bpm) * rate).astype(int):
        end = min(len(out), start + length)
        out[start:end] += 0.5 * click[: end - start]
    return stereo(out)


def band_noise(low: float, high: float, seconds: float, rate: int, seed: int = 0) -> np.ndarray:
    """White noise band-limited to [low, high] Hz by zeroing FFT bins (a brick-wall band)."""
    rng = np.random.default_rng(seed)
    n = int(seconds * rate)
    spectrum = np.fft.rfft(rng.standard_normal(n))
    freqs = np.fft.rfftfreq(n, 1.0 / rate)
    spectrum[(freqs < low) | (freqs > high)] = 0
    signal = np.fft.irfft(spectrum, n)
    return stereo(0.25 * signal / np.abs(signal).max())


def alsa_sink(home: Path, paced_rate: int | None = None) -> Path:
    """Make ``home`` a HOME whose ALSA default device writes raw float frames to ``out.raw`` (unpaced;
    DESIGN §6); with ``paced_rate`` (frames a second) they also go to a reader that takes them at
    that pace, as a sound card would."""
    home.mkdir(parents=True, exist_ok=True)
    target = home / "out.raw"
    if paced_rate:  # float32 stereo: 8 bytes a frame
        target = f"|tee {target} | {sys.executable} {PACED_SINK} {paced_rate * 2 * 4}"
    (home / ".asoundrc").write_text(
        f'pcm.!default {{\n type file\n slave.pcm "null"\n file "{target}"\n format "raw"\n}}\n'
    )
    return home


@dataclass(frozen=True)
class DemoBuild:
    home: Path
    printed: dict  # what `auralis demo --json` printed
    user_home: Path  # the AURALIS_HOME it ran under (it must leave that alone)


@pytest.fixture(scope="session")
def demo_build(tmp_path_factory) -> DemoBuild:
    """`auralis demo --home DIR --json`: the demo library and its six months of feedback, built
    once per test run (test_demo checks the build; every UI test uses it)."""
    base = tmp_path_factory.mktemp("ui")
    home, user_home = base / "demo", base / "user-home"
    result = subprocess.run(
        [sys.executable, "-m", "auralis_tui", "demo", "--home", str(home), "--json"],
        capture_output=True, text=True, env={**os.environ, "AURALIS_HOME": str(user_home)}, timeout=900,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return DemoBuild(home, json.loads(result.stdout), user_home)


@pytest.fixture(scope="session")
def demo_home(demo_build) -> Path:
    return demo_build.home


@pytest.fixture
def home(demo_home, tmp_path) -> Iterator[Path]:
    """A private copy of the demo home (ratings written by one test never reach another)."""
    import shutil

    copy = tmp_path / "demo"
    shutil.copytree(demo_home, copy, symlinks=True)
    yield copy
    end_server(copy)


def processes_for(home: Path) -> dict[int, list[str]]:
    """Live processes started with ``--home HOME`` (apps and servers), by pid: their argv."""
    found = {}
    for entry in Path("/proc").iterdir():
        try:
            argv = [part.decode(errors="replace") for part in (entry / "cmdline").read_bytes().split(b"\0")]
        except (OSError, ValueError):
            continue
        if any(a == "--home" and b == str(home) for a, b in itertools.pairwise(argv)) and entry.name.isdigit():
            found[int(entry.name)] = argv
    return found


def end_server(home: Path) -> None:
    """Stop the music server a test (or the app it ran) left running for ``home``. An app that
    was just closed may still be starting one (a detached process that locks the home only
    after its imports): wait for the home's apps to end, stopping every server that appears."""
    import signal

    from auralis_tui.server import runtime

    def stop_servers() -> bool:
        others = False
        for pid, argv in processes_for(home).items():
            if "serve" in argv:
                os.kill(pid, signal.SIGTERM)
            else:
                others = True
        return not others

    wait_until(stop_servers, "the home's apps to end", timeout=30, poll=0.05)
    pid = runtime.running_pid(home)
    if pid is None:
        return
    os.kill(pid, signal.SIGTERM)
    try:
        wait_until(lambda: runtime.running_pid(home) is None, "the server to stop", timeout=20)
    except AssertionError:
        os.kill(pid, signal.SIGKILL)
        wait_until(lambda: runtime.running_pid(home) is None, "the killed server's lock to go")


@pytest.fixture
def sink(tmp_path) -> Path:
    """An ALSA file sink in the test's own folder."""
    return alsa_sink(tmp_path / "alsa-home")


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)
