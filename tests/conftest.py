"""Shared signal generators for the tests: every expected value comes from physics or a standard."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

# No animations in the app under test: a snapshot taken while the tab underline still slides
# would depend on the machine's load (read by Textual when first imported, so set here).
os.environ.setdefault("TEXTUAL_ANIMATIONS", "none")


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


@pytest.fixture
def sink(tmp_path) -> Path:
    """A HOME whose ALSA default device writes raw float frames to ``out.raw`` (unpaced; DESIGN §6)."""
    home = tmp_path / "alsa-home"
    home.mkdir()
    (home / ".asoundrc").write_text(
        f'pcm.!default {{\n type file\n slave.pcm "null"\n file "{home / "out.raw"}"\n format "raw"\n}}\n'
    )
    return home


@pytest.fixture(scope="session")
def demo_home(tmp_path_factory) -> Path:
    """The demo library and its six months of feedback, built once per test run."""
    from auralis_tui.demo import build_demo

    home = tmp_path_factory.mktemp("ui") / "demo"
    build_demo(home)
    return home


@pytest.fixture
def home(demo_home, tmp_path) -> Path:
    """A private copy of the demo home (ratings written by one test never reach another)."""
    import shutil

    copy = tmp_path / "demo"
    shutil.copytree(demo_home, copy, symlinks=True)
    return copy


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)
