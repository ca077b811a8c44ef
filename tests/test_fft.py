"""engine.fft: batched float32 real FFTs agree with numpy's float64 transform, on both paths."""

import subprocess
import sys

import numpy as np
import pytest

from engine import fft


@pytest.fixture(params=["pocketfft", "numpy"])
def path(request, monkeypatch):
    if request.param == "numpy":
        monkeypatch.setattr(fft, "_POCKETFFT", None)
    return request.param


@pytest.mark.parametrize("shape", [(16, 2205), (2, 8, 2400), (3, 32768), (5, 512), (1, 17)])
def test_rows_match_numpy_float64_to_float32_precision(path, shape):
    frames = np.random.default_rng(len(shape)).standard_normal(shape).astype(np.float32)
    expected = np.fft.rfft(frames.astype(np.float64), axis=-1)
    got = fft.rfft_rows(frames)
    assert got.dtype == np.complex64 and got.shape == expected.shape
    assert np.abs(got - expected).max() <= 1e-6 * np.abs(expected).max() * np.log2(shape[-1])


def test_strided_frames_and_a_pure_tone(path):
    """A view with gaps between rows transforms like its copy; a bin-centred sine lands in one bin."""
    n, k = 2205, 100
    tone = np.cos(2 * np.pi * k * np.arange(n) / n).astype(np.float32)
    frames = np.stack([tone, np.zeros(n, np.float32)] * 3)[::2]  # every other row
    spectrum = fft.rfft_rows(frames)
    assert np.allclose(np.abs(spectrum[:, k]), n / 2, rtol=1e-5)
    spectrum[:, k] = 0
    assert np.abs(spectrum).max() < 1e-3


def test_the_fast_transform_is_used_without_importing_scipy_fft():
    """The compiled pocketfft of this SciPy install loads on its own: ``import scipy.fft`` (0.2–0.3 s)
    stays out of a fingerprint process."""
    code = "import sys, engine.fft as f; print(f._POCKETFFT is not None, 'scipy.fft' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["True", "False"]
