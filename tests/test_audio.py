"""Decoding real files through libsndfile, and every way a file can be bad."""

from __future__ import annotations

import subprocess
import sys
import threading

import numpy as np
import pytest
import soundfile as sf

from engine import audio
from engine.audio import AudioError

from conftest import sine, stereo


@pytest.mark.parametrize(
    ("suffix", "rate", "tolerance"),
    [
        (".wav", 44100, 1e-6),
        (".flac", 44100, 1e-6),
        (".aiff", 44100, 1e-6),
        (".ogg", 44100, 0.05),
        (".opus", 48000, 0.1),
        (".mp3", 44100, 0.1),
    ],
)
def test_every_format_round_trips(tmp_path, suffix, rate, tolerance):
    x = stereo(sine(440, 2.0, rate, -6.0))
    path = tmp_path / f"tone{suffix}"
    audio.write(path, x, rate)
    decoded = audio.decode(path)
    assert decoded.rate == rate
    assert decoded.channels == 2
    assert decoded.samples.dtype == np.float32
    # lossy codecs add delay/padding; compare levels, not samples
    assert abs(decoded.frames - len(x)) <= 0.1 * rate
    rms_in, rms_out = np.sqrt(np.mean(x**2)), np.sqrt(np.mean(decoded.samples**2))
    assert rms_out == pytest.approx(rms_in, rel=tolerance + 1e-3)
    if tolerance < 1e-3:
        np.testing.assert_allclose(decoded.samples, x, atol=1e-5)


def test_mono_stays_mono_and_folds_to_stereo(tmp_path):
    path = tmp_path / "mono.flac"
    audio.write(path, sine(440, 1, 22050)[:, None], 22050)
    decoded = audio.decode(path)
    assert decoded.channels == 1
    folded = audio.to_stereo(decoded.samples)
    np.testing.assert_array_equal(folded[:, 0], folded[:, 1])


def test_six_channels_fold_to_stereo_without_lfe():
    frames = 100
    x = np.zeros((frames, 6), np.float32)
    x[:, 2] = 1.0  # centre
    x[:, 3] = 1.0  # LFE: dropped
    folded = audio.to_stereo(x)
    np.testing.assert_allclose(folded, np.full((frames, 2), np.sqrt(0.5)), rtol=1e-6)
    assert audio.to_mono(x).shape == (frames,)


def test_block_reader_equals_whole_decode(tmp_path):
    x = stereo(sine(440, 1.3, 48000))
    path = tmp_path / "t.wav"
    audio.write(path, x, 48000)
    blocks = list(audio.read_blocks(path, 4096))
    assert all(len(b) <= 4096 for b in blocks)
    np.testing.assert_array_equal(np.concatenate(blocks), audio.decode(path).samples)
    assert len(np.concatenate(list(audio.read_blocks(path, 4096, start=1000)))) == len(x) - 1000


#: Both ways to decode a file: at once, and in a background thread (for the fingerprint).
DECODERS = (audio.decode, lambda path: audio.BackgroundDecode(path).result())


def _expect_error(path, fragment):
    for decode in DECODERS:
        with pytest.raises(AudioError) as info:
            decode(path)
        message = str(info.value)
        assert path.name in message
        assert fragment in message
        assert "\n" not in message


def test_background_decode_hands_out_growing_prefixes_of_the_whole_decode(tmp_path, monkeypatch):
    # a gate lets the decode thread publish a block only once the previous prefix was taken
    monkeypatch.setattr(audio, "DECODE_BLOCK", 1000)
    gate, check = threading.Semaphore(1), audio._check_finite
    monkeypatch.setattr(audio, "_check_finite", lambda path, block: (gate.acquire(timeout=10), check(path, block)))
    x = stereo(sine(440, 1.3, 8000))
    path = tmp_path / "t.flac"
    audio.write(path, x, 8000)
    decoding = audio.BackgroundDecode(path)
    prefixes = []
    for prefix in decoding.progress():
        prefixes.append(prefix.copy())
        gate.release()
    whole = audio.decode(path).samples
    assert [len(p) for p in prefixes] == [*range(1000, len(whole), 1000), len(whole)]
    for prefix in prefixes:
        np.testing.assert_array_equal(prefix, whole[: len(prefix)])
    np.testing.assert_array_equal(decoding.result().samples, whole)


def test_background_decode_stops_when_closed(tmp_path, monkeypatch):
    monkeypatch.setattr(audio, "DECODE_BLOCK", 100)
    path = tmp_path / "t.wav"
    audio.write(path, stereo(sine(440, 30, 44100)), 44100)
    decoding = audio.BackgroundDecode(path)
    decoding.close()
    assert not decoding._thread.is_alive()


def test_missing_file(tmp_path):
    _expect_error(tmp_path / "nope.flac", "no such file")


def test_empty_file(tmp_path):
    path = tmp_path / "empty.flac"
    path.write_bytes(b"")
    _expect_error(path, "empty")


def test_non_audio_file(tmp_path):
    path = tmp_path / "notes.mp3"
    path.write_text("these are not the samples you are looking for\n" * 50)
    with pytest.raises(AudioError) as info:
        audio.decode(path)
    assert "notes.mp3" in str(info.value)


def test_zero_length_audio(tmp_path):
    path = tmp_path / "zero.wav"
    sf.write(path, np.zeros((0, 2), np.float32), 44100)
    _expect_error(path, "no audio")


@pytest.mark.parametrize("suffix", [".wav", ".flac"])
def test_truncated_file(tmp_path, suffix):
    path = tmp_path / f"cut{suffix}"
    audio.write(path, stereo(sine(440, 3, 44100)), 44100)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    for decode in DECODERS:
        with pytest.raises(AudioError) as info:
            decode(path)
        assert path.name in str(info.value)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_nan_and_inf_samples(tmp_path, bad):
    x = stereo(sine(440, 0.5, 8000))
    x[100, 1] = bad
    path = tmp_path / "bad.wav"
    sf.write(path, x, 8000, subtype="FLOAT")
    _expect_error(path, "NaN or infinite")


def test_unknown_output_format(tmp_path):
    with pytest.raises(AudioError, match="unknown output format"):
        audio.write(tmp_path / "x.xyz", np.zeros((10, 2), np.float32), 44100)


def test_opus_rejects_unsupported_rate(tmp_path):
    with pytest.raises(AudioError, match="Opus cannot store 44100 Hz"):
        audio.write(tmp_path / "x.opus", np.zeros((10, 2), np.float32), 44100)
    assert not list(tmp_path.iterdir())  # nothing half-written left behind


@pytest.mark.parametrize("suffix", [".ogg", ".opus", ".mp3"])
def test_five_minute_lossy_output_is_written_whole(tmp_path, suffix):
    # libsndfile's encoders crashed (SIGSEGV, no file) when fed a long track in one call; the
    # write runs in a child process so a crash fails this test instead of the whole run.
    rate, seconds = 48000, 300
    path = tmp_path / f"long{suffix}"
    script = (
        "import numpy as np, sys\n"
        "from engine import audio\n"
        f"t = np.arange({rate * seconds}) / {rate}\n"
        "x = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)\n"
        f"audio.write(sys.argv[1], np.stack([x, x], axis=1), {rate})\n"
    )
    result = subprocess.run([sys.executable, "-c", script, str(path)], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    decoded = audio.decode(path)
    assert decoded.duration == pytest.approx(seconds, abs=0.1)
    middle = decoded.samples[len(decoded.samples) // 2 : len(decoded.samples) // 2 + rate]
    assert np.sqrt(np.mean(middle**2)) == pytest.approx(0.3 / np.sqrt(2), rel=0.05)


def test_background_decode_reads_past_a_header_without_a_frame_count(tmp_path, monkeypatch):
    # some streams do not say how long they are: the array grows as blocks arrive
    monkeypatch.setattr(audio, "DECODE_BLOCK", 5000)
    path = tmp_path / "t.ogg"
    audio.write(path, stereo(sine(440, 2, 44100)), 44100)
    header = audio.info(path)
    monkeypatch.setattr(audio, "info", lambda _path: audio.AudioInfo(header.rate, header.channels, 0, "OGG", "VORBIS"))
    decoding = audio.BackgroundDecode(path)
    np.testing.assert_array_equal(decoding.result().samples, audio.decode(path).samples)
