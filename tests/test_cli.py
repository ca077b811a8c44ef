"""The `auralis` command line, run as a real subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from auralis_tui.synth import CHARACTERS, render
from engine import audio, loudness
from engine.fingerprint import FEATURE_NAMES

from conftest import sine, stereo


def auralis(*args: str, home: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "AURALIS_HOME": str(home)}
    return subprocess.run(
        [sys.executable, "-m", "auralis_tui", *args], capture_output=True, text=True, env=env, timeout=120
    )


@pytest.fixture(scope="module")
def metal_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("cli") / "metal.flac"
    audio.write(path, render(CHARACTERS["metal"], 10, 44100, seed=2), 44100)
    return path


def test_fingerprint_json(metal_file, tmp_path):
    result = auralis("fingerprint", str(metal_file), "--json", home=tmp_path)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert set(data["fingerprint"]) == set(FEATURE_NAMES)
    assert data["detection"]["type"] == "metal"
    assert 0.65 <= data["detection"]["confidence"] <= 1.0
    assert data["rate"] == 44100 and data["channels"] == 2
    assert data["fingerprint_version"] >= 1


def test_fingerprint_text(metal_file, tmp_path):
    result = auralis("fingerprint", str(metal_file), home=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "type: metal" in result.stdout
    assert "lufs" in result.stdout and "LUFS" in result.stdout
    assert "matched:" in result.stdout


@pytest.mark.parametrize("suffix", [".wav", ".flac", ".ogg"])
def test_master_writes_the_extension_format(metal_file, tmp_path, suffix):
    out = tmp_path / f"mastered{suffix}"
    result = auralis("master", str(metal_file), str(out), "--json", home=tmp_path)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["type"] == "metal"
    assert report["parameters"]["bass_db"] == pytest.approx(3.85)
    decoded = audio.decode(out)
    assert decoded.rate == 44100
    assert loudness.integrated_loudness(decoded.samples, decoded.rate) == pytest.approx(-11.0, abs=0.6)
    if suffix != ".ogg":  # lossy re-encoding may overshoot; PCM must not
        assert loudness.true_peak(decoded.samples, decoded.rate) <= -1.0 + 0.01


def test_master_with_explicit_type_prints_report(metal_file, tmp_path):
    out = tmp_path / "out.wav"
    result = auralis("master", str(metal_file), str(out), "--type", "bootleg", home=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "type bootleg (chosen)" in result.stdout
    assert "bass -4.00 dB" in result.stdout and "treble +4.00 dB" in result.stdout
    assert "dBTP" in result.stdout


def _assert_clean_failure(result: subprocess.CompletedProcess, *fragments: str) -> None:
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("auralis:")]
    assert len(lines) == 1, result.stderr
    for fragment in fragments:
        assert fragment in lines[0]


def test_errors_are_one_clear_line(tmp_path):
    junk = tmp_path / "junk.flac"
    junk.write_bytes(b"\x00" * 1000)
    _assert_clean_failure(auralis("fingerprint", str(junk), home=tmp_path), "junk.flac")
    _assert_clean_failure(auralis("fingerprint", str(tmp_path / "gone.wav"), home=tmp_path), "gone.wav", "no such file")
    good = tmp_path / "tone.wav"
    audio.write(good, stereo(sine(440, 1, 44100)), 44100)
    _assert_clean_failure(auralis("master", str(good), str(tmp_path / "x.opus"), home=tmp_path), "Opus")
    _assert_clean_failure(
        auralis("master", str(good), str(tmp_path / "x.wav"), "--type", "polka", home=tmp_path), "polka"
    )
    assert not (tmp_path / "x.opus").exists()


def test_usage_errors_exit_2(tmp_path):
    result = auralis("fingerprint", home=tmp_path)
    assert result.returncode == 2
    assert "usage:" in result.stderr


@pytest.mark.parametrize("position", ["1:99", "1:60", "nan", "1:2:3:4", "-1:-5", "ten"])
def test_seek_refuses_what_is_no_time_before_starting_a_server(tmp_path, position):
    result = auralis("seek", "--", position, home=tmp_path)
    assert result.returncode != 0 and f"{position!r} is not ±S, S, M:SS or H:MM:SS" in result.stderr
    assert not (tmp_path / "server.log").exists() and "Traceback" not in result.stderr  # no server started


def test_help_explains_commands(tmp_path):
    result = auralis("--help", home=tmp_path)
    assert result.returncode == 0
    for command in ("fingerprint", "master", "demo"):
        assert command in result.stdout


def test_mono_file_end_to_end(tmp_path):
    mono = tmp_path / "mono.flac"
    audio.write(mono, (sine(440, 3, 22050, -20)[:, None]).astype(np.float32), 22050)
    result = auralis("fingerprint", str(mono), "--json", home=tmp_path)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["channels"] == 1
    assert data["fingerprint"]["phase_correlation"] == 1.0


@pytest.fixture(scope="module")
def bad_files(tmp_path_factory) -> Path:
    """An MP3 with a short hole (the decoder resyncs, noisily), one with a long hole (it gives up),
    a web page saved as .mp3 and a FLAC of zeros."""
    folder = tmp_path_factory.mktemp("bad")
    audio.write(folder / "good.mp3", stereo(sine(440, 3, 44100)), 44100)
    data = (folder / "good.mp3").read_bytes()
    third = len(data) // 3
    (folder / "resync.mp3").write_bytes(data[:third] + b"\x00" * 300 + data[third + 300 :])
    (folder / "hole.mp3").write_bytes(data[:third] + b"\x00" * 4000 + data[third + 4000 :])
    (folder / "page.mp3").write_text("<!DOCTYPE html><html><body>404 Not Found</body></html>\n" * 20)
    (folder / "zeros.flac").write_bytes(b"\x00" * 1000)
    return folder


def test_decoder_noise_stays_off_the_terminal(bad_files, capfd):
    with pytest.raises(audio.AudioError, match="truncated"):  # libmpg123 resyncs, says so on fd 2, loses frames
        audio.decode(bad_files / "resync.mp3")
    with pytest.raises(audio.AudioError, match="the decoder gave up"):
        audio.decode(bad_files / "hole.mp3")
    with pytest.raises(audio.AudioError, match="not an audio file"):
        audio.info(bad_files / "page.mp3")
    assert sum(block.shape[0] for block in audio.read_blocks(bad_files / "good.mp3", 4096)) > 0
    assert capfd.readouterr().err == ""


def test_a_file_that_is_not_audio_says_so(bad_files, tmp_path):
    for name in ("page.mp3", "zeros.flac"):
        result = auralis("fingerprint", str(bad_files / name), home=tmp_path)
        assert result.stderr == f"auralis: {name}: not an audio file (format not recognised)\n"
        assert result.returncode == 1


def test_scan_reports_each_bad_file_in_one_line(bad_files, tmp_path):
    result = auralis("scan", str(bad_files), "--jobs", "1", home=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Note:" not in result.stderr and "mpg123" not in result.stderr, result.stderr
    lines = [line.strip() for line in result.stdout.splitlines() if line.startswith("    ")]
    reasons = dict(line.split(": ", 1) for line in lines)
    assert len(lines) == len(reasons) == 4
    assert reasons[str(bad_files / "hole.mp3")] == "decoding failed (damaged audio data: the decoder gave up)"
    assert reasons[str(bad_files / "resync.mp3")].startswith("truncated: header promises")
    for name in ("page.mp3", "zeros.flac"):
        assert reasons[str(bad_files / name)] == "not an audio file (format not recognised)"


def test_python_stderr_stays_visible_while_the_engine_silences_fd_2():
    """The app draws on sys.__stderr__ (Textual), our messages go to sys.stderr: neither may vanish
    while a decoder thread has fd 2 pointed at the scratch file."""
    code = (
        "import sys\n"
        "from auralis_tui.cli import keep_python_stderr_apart\n"
        "from engine.quiet import library_noise_silenced\n"
        "keep_python_stderr_apart()\n"
        "apart = sys.stderr.fileno()\n"
        "keep_python_stderr_apart()\n"
        "assert apart != 2 and sys.stderr.fileno() == apart  # a second call changes nothing\n"
        "with library_noise_silenced():\n"
        "    sys.__stderr__.write('frame\\n'); sys.__stderr__.flush()\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and result.stderr == "frame\n", result.stderr
