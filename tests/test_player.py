"""Playback through real PortAudio into a real ALSA file sink (DESIGN §6): what reached the
"sound card" is compared with what the engine says it should be."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from auralis_tui import personal, profiles, rating
from auralis_tui.player import RING_BLOCKS
from engine import audio
from engine.loudness import integrated_loudness
from engine.master import StreamingMaster, loudness_gain_db
from engine.model import MasterParams

from conftest import alsa_sink, sine, stereo


def played(sink: Path) -> np.ndarray:
    """The frames PortAudio delivered (float32 stereo), leading silence removed."""
    frames = np.fromfile(sink / "out.raw", dtype=np.float32).reshape(-1, 2)
    sounding = np.flatnonzero(np.abs(frames).sum(axis=1) > 0)
    return frames[sounding[0] :] if sounding.size else frames[:0]


def sounding(frames: np.ndarray) -> np.ndarray:
    """The frames that carry sound: silence the callback played while starved (an underrun) taken out."""
    return frames[np.abs(frames).sum(axis=1) > 0]


def assert_delivered(out: np.ndarray, want: np.ndarray, underruns: int) -> None:
    """Every frame of ``want`` reached the device once and in order, nothing after it, and silence inside
    it only where the player reported starving (each underrun is at most one 2048-frame block)."""
    np.testing.assert_array_equal(sounding(out), want)
    silent_inside = np.flatnonzero(np.abs(out).sum(axis=1) > 0)[-1] + 1 - len(want)
    assert silent_inside <= underruns * 2048, (silent_inside, underruns)


def run(sink: Path, *args: str, home: Path, script: str | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "HOME": str(sink)}
    command = [sys.executable, "-c", script, str(home), *args] if script else [
        sys.executable, "-m", "auralis_tui", "--home", str(home), *args]  # fmt: skip
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)


def music(path: Path, seconds: float = 3.0, rate: int = 48000, freq: float = 440.0, channels: int = 2) -> Path:
    """A test signal with no silent frames: a sine over a small offset, distinct per ``freq``."""
    mono = 0.5 * sine(freq, seconds, rate, 0.0) + 0.05
    samples = np.repeat(mono[:, None], channels, axis=1).astype(np.float32)
    if channels == 2:
        samples[:, 1] *= 0.5
    audio.write(path, samples, rate)
    return path


def expected_stereo(path: Path) -> np.ndarray:
    return audio.to_stereo(audio.decode(path).samples)


def streamed_master(home: Path, path: Path) -> np.ndarray:
    """The track through its chain in 2048-frame blocks, as the engine defines it."""
    state = rating.track_state(home, path)
    params = MasterParams(**state.parameters)
    decoded = expected_stereo(path)
    chain = StreamingMaster(params, audio.info(path).rate, 2, loudness_gain_db(state.fingerprint.lufs, params))
    blocks = [chain.process(decoded[i : i + 2048]) for i in range(0, len(decoded), 2048)]
    return np.concatenate([*blocks, chain.flush()])


def test_original_playback_delivers_the_decoded_samples(tmp_path, sink):
    track = music(tmp_path / "a.wav", 3.0, 44100)
    result = run(sink, "play", str(track), home=tmp_path / "home")
    assert result.returncode == 0, result.stderr
    underruns = int(re.search(r"underruns: (\d+)", result.stdout).group(1))
    assert_delivered(played(sink), expected_stereo(track), underruns)


def test_mono_is_sent_to_both_speakers(tmp_path, sink):
    track = music(tmp_path / "mono.flac", 2.0, 22050, channels=1)
    assert run(sink, "play", str(track), home=tmp_path / "home").returncode == 0
    out, want = sounding(played(sink)), audio.decode(track).samples[:, 0]
    np.testing.assert_array_equal(out[: len(want), 0], want)
    np.testing.assert_array_equal(out[: len(want), 1], want)


def test_mastered_playback_is_the_streaming_chain(tmp_path, sink):
    home = tmp_path / "home"
    track = music(tmp_path / "b.flac", 4.0, 48000, freq=220.0)
    result = run(sink, "play", str(track), "--mastered", home=home)
    assert result.returncode == 0, result.stderr
    want = streamed_master(home, track)
    out = sounding(played(sink))
    assert len(want) == audio.info(track).frames
    np.testing.assert_allclose(out[: len(want)], want, atol=1e-6)


SEEK = """
import sys, time
from pathlib import Path
from auralis_tui.player import Player
home, track, seconds = Path(sys.argv[1]), Path(sys.argv[2]), float(sys.argv[3])
player = Player(home, match_loudness=False)
player.load([track])
player.set_mastered(False)
player.play(0, seconds)
player.wait_until_stopped(60)
player.close()
"""


def test_a_seek_lands_on_its_frame(tmp_path, sink):
    track = music(tmp_path / "c.wav", 6.0, 48000, freq=331.0)  # 2.5 s hold no whole number of periods
    assert run(sink, str(track), "2.5", home=tmp_path / "home", script=SEEK).returncode == 0
    start = round(2.5 * 48000)
    np.testing.assert_array_equal(sounding(played(sink)), expected_stereo(track)[start:])  # 0 ms off: exact


EARLY_SEEK = """
import sys, threading
from pathlib import Path
from auralis_tui.player import Player
from auralis_tui.treatments import Treatments
home, track = Path(sys.argv[1]), Path(sys.argv[2])
prepared, prepare = threading.Event(), Treatments(home).start
def slow_start(path):  # a track outside the library is analysed before it sounds: seconds on a long one
    prepared.wait(30)
    return prepare(path)
player = Player(home, match_loudness=False, state_for=slow_start)
player.load([track])
player.set_mastered(False)
player.play(0)
player.seek(1.0, relative=True)  # → pressed twice before the track's length is known
player.seek(1.0, relative=True)
prepared.set()
player.wait_until_stopped(60)
player.close()
"""


def test_a_seek_before_the_track_sounds_is_kept(tmp_path, sink):
    track = music(tmp_path / "c.wav", 4.0, 48000, freq=331.0)  # 2 s hold no whole number of periods
    assert run(sink, str(track), home=tmp_path / "home", script=EARLY_SEEK).returncode == 0
    np.testing.assert_array_equal(sounding(played(sink)), expected_stereo(track)[2 * 48000 :])


AB = """
import sys, time
from pathlib import Path
from auralis_tui.player import Player
home, track, match = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3] == "match"
player = Player(home, match_loudness=match)
player.load([track])
player.set_mastered(False)
player.play(0)
deadline = time.monotonic() + 30
while player.status().position < 1.0 and time.monotonic() < deadline:
    time.sleep(0.0005)
switched_at = player.status().position
player.toggle_ab()
player.wait_until_stopped(60)
player.close()
print(switched_at)
"""


def test_ab_switch_keeps_the_position(tmp_path, sink):
    home = tmp_path / "home"
    track = music(tmp_path / "d.wav", 20.0, 48000, freq=550.0)
    result = run(sink, str(track), "plain", home=home, script=AB)
    assert result.returncode == 0, result.stderr
    original, mastered = expected_stereo(track), streamed_master(home, track)
    out = sounding(played(sink))[: len(original)]
    is_original = np.all(np.abs(out - original) < 1e-6, axis=1)
    is_mastered = np.all(np.abs(out - mastered) < 1e-6, axis=1)
    switch = np.flatnonzero(~is_original)[0]
    assert switch >= 48000  # the toggle came after one second
    fade = int(0.01 * 48000)
    assert is_original[:switch].all()
    assert is_mastered[switch + fade :].all()  # same timeline: no frame lost or repeated
    assert len(out) == len(original)


def test_ab_is_loudness_matched(tmp_path, sink):
    home = tmp_path / "home"
    track = music(tmp_path / "e.wav", 20.0, 48000, freq=660.0)
    result = run(sink, str(track), "match", home=home, script=AB)
    assert result.returncode == 0, result.stderr
    original = expected_stereo(track)
    out = sounding(played(sink))[: len(original)]
    head = slice(0, 24000)  # before the toggle: the original at the matching gain
    gain = float((out[head] * original[head]).sum() / (original[head] ** 2).sum())
    switch = np.flatnonzero(np.any(np.abs(out - gain * original) > 1e-4, axis=1))[0]  # wherever a busy machine put it
    assert 48000 <= switch <= 15 * 48000
    first, second = out[:switch], out[switch + 480 : 19 * 48000]  # clear of the 10 ms crossfade
    assert integrated_loudness(first, 48000) == pytest.approx(integrated_loudness(second, 48000), abs=0.5)


RAPID = """
import sys, time
from pathlib import Path
from auralis_tui.player import Player
home, tracks = Path(sys.argv[1]), [Path(p) for p in sys.argv[2:]]
player = Player(home, match_loudness=False)
player.load(tracks)
player.set_mastered(False)
for index in range(len(tracks)):
    player.play(index)
    time.sleep(0.045)
player.wait_until_stopped(60)
status = player.status()
player.close()
print(status.track)
"""


def test_rapid_selection_plays_the_last_choice(tmp_path, sink):
    tracks = [music(tmp_path / f"{i:02d}.wav", 1.0, 44100, freq=200.0 + 40 * i) for i in range(20)]
    result = run(sink, *map(str, tracks), home=tmp_path / "home", script=RAPID)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "19"
    last = expected_stereo(tracks[-1])
    np.testing.assert_array_equal(sounding(played(sink))[-len(last) :], last)  # it ends with the whole last track


GAPLESS = """
import sys
from pathlib import Path
from auralis_tui.player import Player
home, tracks = Path(sys.argv[1]), [Path(p) for p in sys.argv[2:]]
player = Player(home, match_loudness=False)
player.load(tracks)
player.set_mastered(False)
player.play(0)
player.wait_until_stopped(60)
status = player.status()
print(status.track, status.underruns)
player.close()
"""


def test_consecutive_tracks_at_one_rate_are_gapless(tmp_path, sink):
    first = music(tmp_path / "1.wav", 1.3, 44100, freq=300.0)
    second = music(tmp_path / "2.wav", 1.1, 44100, freq=500.0)
    result = run(sink, str(first), str(second), home=tmp_path / "home", script=GAPLESS)
    assert result.returncode == 0, result.stderr
    track, underruns = map(int, result.stdout.split())
    assert track == 1  # it went on to the second
    assert_delivered(played(sink), np.concatenate([expected_stereo(first), expected_stereo(second)]), underruns)


def test_a_new_rate_reopens_the_stream(tmp_path, sink):
    first = music(tmp_path / "1.wav", 1.0, 44100, freq=300.0)
    second = music(tmp_path / "2.wav", 1.0, 96000, freq=500.0)
    result = run(sink, str(first), str(second), home=tmp_path / "home", script=GAPLESS)
    assert result.returncode == 0 and result.stdout.split()[0] == "1"
    # ALSA's file plugin starts a new file when the stream is reopened at 96 kHz: it holds track 2
    want = expected_stereo(second)
    np.testing.assert_array_equal(sounding(played(sink)), want)


def test_no_device_is_one_clear_line(tmp_path):
    empty = tmp_path / "no-sound"
    empty.mkdir()
    (empty / ".asoundrc").write_text('pcm.!default { type hw card 7 }\nctl.!default { type hw card 7 }\n')
    track = music(tmp_path / "f.wav", 0.5, 44100)
    result = run(empty, "play", str(track), home=tmp_path / "home")
    assert result.returncode == 1
    assert result.stderr.startswith("auralis: no sound") and result.stderr.count("\n") == 1


def test_devices_lists_the_default_output(tmp_path, sink):
    result = run(sink, "devices", "--json", home=tmp_path / "home")
    assert result.returncode == 0, result.stderr
    devices = json.loads(result.stdout)
    assert any(d["default"] and d["channels"] >= 2 for d in devices)


def band_db(frames: np.ndarray, rate: int, low: float, high: float) -> float:
    """Energy (dB) of the left channel between ``low`` and ``high`` Hz, Hann-windowed."""
    spectrum = np.abs(np.fft.rfft(frames[:, 0] * np.hanning(len(frames)))) ** 2
    freqs = np.fft.rfftfreq(len(frames), 1.0 / rate)
    return float(10 * np.log10(spectrum[(freqs >= low) & (freqs <= high)].sum()))


def test_personal_layer_reaches_the_sound_card(tmp_path):
    """A "bass sensitive" layer (bass -1 dB) must be heard: 40 Hz drops by about 1 dB against 1 kHz in
    the frames that reached the device, compared with the same track played without the layer."""
    home, rate = tmp_path / "home", 44100
    profiles.seed(home)
    personal.save(home, {"hearing": "bass_sensitive"}, "ears", set(profiles.names(home)))
    track = tmp_path / "g.wav"
    audio.write(track, stereo(0.25 * sine(40, 3.0, rate, 0.0) + 0.25 * sine(1000, 3.0, rate, 0.0)), rate)
    tilt = {}
    for name, flags in (("layer", ()), ("base", ("--no-personal",))):
        sink = alsa_sink(tmp_path / f"sink-{name}")
        result = run(sink, "play", str(track), "--mastered", *flags, home=home)
        assert result.returncode == 0, result.stderr
        out = played(sink)[rate // 2 : 5 * rate // 2]  # steady state, clear of the limiter's attack
        assert len(out) == 2 * rate
        tilt[name] = band_db(out, rate, 30, 50) - band_db(out, rate, 900, 1100)
    # a 100 Hz low shelf (S = 1) passes 0.97 of its gain at 40 Hz; 1 kHz is untouched
    assert tilt["layer"] - tilt["base"] == pytest.approx(-0.97, abs=0.1)


PAUSE = """
import os, sys, time
from pathlib import Path
from auralis_tui.player import Player
home, track = Path(sys.argv[1]), Path(sys.argv[2])
sink = Path(os.environ["HOME"]) / "out.raw"
player = Player(home, match_loudness=False)
player.load([track])
player.set_mastered(False)
player.play(0)
deadline = time.monotonic() + 60
while player.status().position < 0.5 and time.monotonic() < deadline:
    time.sleep(0.0005)
player.toggle_pause()
paused_at, paused, size = player.status().position, time.monotonic(), sink.stat().st_size
while sink.stat().st_size < size + 8 * 44100 // 4 and time.monotonic() < deadline:  # the device took 0.25 s
    time.sleep(0.001)
still = player.status().position
held = time.monotonic() - paused
player.toggle_pause()
player.wait_until_stopped(60)
player.close()
print(paused_at, still, held, sink.stat().st_size - size)
"""


def test_pause_holds_the_position_and_loses_nothing(tmp_path, sink):
    rate = 44100
    track = music(tmp_path / "p.wav", 4.0, rate, freq=350.0)
    result = run(sink, str(track), home=tmp_path / "home", script=PAUSE)
    assert result.returncode == 0, result.stderr
    paused_at, still, held, taken = map(float, result.stdout.split())
    assert taken >= 8 * rate // 4  # the device kept taking frames while paused ...
    assert still == paused_at  # ... and the position did not move
    out, want = played(sink), expected_stereo(track)
    np.testing.assert_array_equal(sounding(out), want)  # the pause is silence; the music continues after it
    pause = len(out) - len(want)
    # paced silence, not a flood of zeros: no more than the pause lasted, give or take a block either side
    assert 0 < pause <= held * rate + 3 * 2048, (pause, held)


WAKEUPS = """
import sys, threading
from pathlib import Path

waits = puts = 0

class Counted(threading.Condition):
    def wait(self, timeout=None):
        global waits
        waits += threading.current_thread().name == "auralis-feeder"
        return super().wait(timeout)

threading.Condition = Counted  # before the player makes its lock
from auralis_tui.player import Player

home, track = Path(sys.argv[1]), Path(sys.argv[2])
player = Player(home)
put = player._put

def counted(block):
    global puts
    puts += 1
    return put(block)

player._put = counted
player.load([track])
player.play(0)
player.wait_until_stopped(60)
player.close()
print(waits, puts, player.status().underruns)
"""


def test_the_feeder_wakes_once_per_chunk_it_makes(tmp_path):
    """On a device that takes frames at its own pace, the feeder sleeps until there is room for a
    whole chunk: a wake-up per device callback cost ~0.6 % of a core while playing (bench/server.py)."""
    rate = 44100
    sink = alsa_sink(tmp_path / "paced", paced_rate=rate)
    track = music(tmp_path / "p.flac", 3.0, rate)
    result = run(sink, str(track), home=tmp_path / "home", script=WAKEUPS)
    assert result.returncode == 0, result.stderr
    waits, puts, underruns = map(int, result.stdout.split())
    assert puts >= 3 * rate // 8192 and underruns == 0
    # one wake per chunk made, plus the ends: the request, and up to one per chunk the device drains
    # from the full ring at the track's end (a wake per callback was 52 waits for 17 chunks)
    assert waits <= puts + RING_BLOCKS + 3, (waits, puts)


def test_an_unreadable_file_is_skipped_and_the_music_plays_on(tmp_path, sink):
    first = music(tmp_path / "1.wav", 1.0, 44100, freq=300.0)
    broken = tmp_path / "2.flac"
    broken.write_text("not audio")
    last = music(tmp_path / "3.wav", 1.0, 44100, freq=500.0)
    result = run(sink, str(first), str(broken), str(last), home=tmp_path / "home", script=GAPLESS)
    assert result.returncode == 0, result.stderr
    track, underruns = map(int, result.stdout.split())
    assert track == 2  # past the broken file, to the end
    assert_delivered(played(sink), np.concatenate([expected_stereo(first), expected_stereo(last)]), underruns)


def test_an_unreadable_last_file_stops_saying_why_after_the_track_before_it_ends(tmp_path):
    """On a device that takes frames at a sound card's pace, the ring still holds the end of the
    track before the broken one when the feeder finds nothing playable follows: it plays out
    (it was cut by up to 4 × 8192 frames), then the player stops saying why."""
    rate = 44100
    sink = alsa_sink(tmp_path / "paced", paced_rate=rate)
    first = music(tmp_path / "1.wav", 2.0, rate)
    broken = tmp_path / "2.flac"
    broken.write_text("not audio")
    result = run(sink, str(first), str(broken), home=tmp_path / "home", script=GAPLESS.replace(
        "print(status.track, status.underruns)", "print(status.underruns, status.state, status.message)"))  # fmt: skip
    underruns, said = result.stdout.strip().split(" ", 1)
    assert said == "stopped 2.flac: not an audio file (format not recognised)", result.stderr
    assert_delivered(played(sink), expected_stereo(first), int(underruns))


def test_with_repeat_on_unreadable_files_are_skipped_round_after_round(tmp_path, sink):
    """A queue of [broken, good, broken] on repeat plays the good track again and again: a file
    skipped on the last round is no sign that nothing playable follows (it stopped after one)."""
    good = music(tmp_path / "good.wav", 0.3, 44100)
    for name in ("bad1.flac", "bad2.flac"):
        (tmp_path / name).write_text("not audio")
    script = GAPLESS.replace("player.load(tracks)", REPEATING).replace(
        "player.wait_until_stopped(60)", "time.sleep(3.0)").replace("import sys", "import sys, time")
    tracks = [str(tmp_path / name) for name in ("bad1.flac", "good.wav", "bad2.flac")]
    result = run(sink, *tracks, home=tmp_path / "home", script=script.replace(
        "print(status.track, status.underruns)", "print(status.state)"))  # fmt: skip
    assert result.stdout.strip() == "playing", result.stderr
    assert len(sounding(played(sink))) >= 3 * len(expected_stereo(good))  # round after round


REPEATING = """
from auralis_tui.player import Tracks
class Repeating(Tracks):  # the server's queue with repeat on: after the last comes the first
    def following(self, key):
        return (key + 1) % len(self.paths)
player.use(Repeating(tracks))
"""
