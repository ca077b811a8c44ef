"""Playback through PortAudio with real-time mastering and loudness-matched A/B.

A feeder thread decodes and masters; the PortAudio callback only copies prepared blocks. Each
block carries both versions (original and mastered, aligned for the chain's latency), so A/B
switches inside one callback with a short crossfade. Every selection, seek or stop bumps a
*generation*; blocks of an older generation are dropped, so the last choice always wins.
"""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Callable, Hashable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from engine import audio
from engine.master import StreamingMaster, loudness_gain_db
from engine.model import MasterParams

from .errors import AudioUnavailable
from .playstate import Status
from .rating import TrackState
from .treatments import Treatments

BLOCK = 2048  # frames per device callback
CHUNK = 4 * BLOCK  # frames the feeder decodes and masters at a time: the chain costs 0.60 % of a core
# per second of audio in 8192-frame chunks, 0.80 % in 4096s, 1.08 % in 2048s (Python overhead per
# call); with one BLAS thread (cli.main pins it), else OpenBLAS splits the limiter's 8192-row product
# over threads that spin: 5.3 %
RING_BLOCKS = 4  # chunks ready ahead of the device: ≈ 0.68 s at 48 kHz
CROSSFADE_SECONDS = 0.01
STARVE_WAIT = 1.0  # blocks: how long the callback waits for a late feeder


def _sounddevice():
    try:
        import sounddevice
    except OSError as exc:  # the PortAudio library itself is missing
        raise AudioUnavailable(f"no sound: PortAudio is not installed ({exc}); apt-get install libportaudio2") from None
    return sounddevice


def output_devices() -> list[dict]:
    """Every output device PortAudio knows: index, name, channels, default rate, default flag."""
    sd = _sounddevice()
    try:
        default = sd.default.device[1]
        devices = sd.query_devices()
    except sd.PortAudioError as exc:
        raise AudioUnavailable(f"no sound: {exc}") from None
    return [
        {
            "index": i,
            "name": d["name"],
            "channels": d["max_output_channels"],
            "rate": d["default_samplerate"],
            "default": i == default,
        }
        for i, d in enumerate(devices)
        if d["max_output_channels"] > 0
    ]


def resolve_device(name: str | None) -> int | None:
    """A device index from a name (substring, case-insensitive) or number; None = system default."""
    devices = output_devices()
    if not devices:
        raise AudioUnavailable("no sound: no audio output device found")
    if not name:
        return None
    if name.isdigit() and any(d["index"] == int(name) for d in devices):
        return int(name)
    matches = [d for d in devices if name.lower() in d["name"].lower()]
    if not matches:
        raise AudioUnavailable(f"no output device matches '{name}' (see `auralis devices`)")
    return matches[0]["index"]


class Playlist(Protocol):
    """What the player plays, by key: the track a key names and the one that follows it (a
    playlist may change while it plays; the player asks again at every track boundary)."""

    def path_of(self, key: Hashable) -> Path | None: ...
    def following(self, key: Hashable) -> Hashable | None: ...
    def preceding(self, key: Hashable) -> Hashable | None: ...


class Tracks:
    """A fixed list of files, keyed by position: played in order, once."""

    def __init__(self, paths: Sequence[Path]) -> None:
        self.paths = [Path(p) for p in paths]

    def path_of(self, key: int) -> Path | None:
        return self.paths[key] if isinstance(key, int) and 0 <= key < len(self.paths) else None

    def following(self, key: int) -> int | None:
        return key + 1 if key + 1 < len(self.paths) else None

    def preceding(self, key: int) -> int | None:
        return max(0, key - 1) if self.paths else None


@dataclass
class _Block:
    generation: int
    track: Hashable  # the playlist's key
    path: Path
    start: int  # frame position of the block's first frame in its track
    original: np.ndarray  # (frames, 2) float32, level-matched when matching is on
    mastered: np.ndarray
    offset: int = 0  # frames already played
    info: TrackState | None = None  # how its track is mastered: the status shows it once it sounds
    duration: float = 0.0


class Player:
    """One output stream, a play list, and a feeder thread that keeps the ring filled."""

    def __init__(
        self,
        home: Path,
        device: str | None = None,
        use_personal: bool = True,
        match_loudness: bool = True,
        state_for: Callable[[Path], TrackState] | None = None,
    ) -> None:
        self.home = home
        #: How a track is mastered when it starts (treatments.py; the app passes the one it shares).
        self.state_for = state_for or Treatments(home, use_personal).start
        self.device = resolve_device(device)
        self.use_personal = use_personal
        self.match_loudness = match_loudness
        self._sd = _sounddevice()
        self._lock = threading.Condition()
        self._ring: collections.deque[_Block] = collections.deque()
        self._playlist: Playlist = Tracks([])
        self._exhausted = -1  # the generation whose feeder found nothing more to play
        self._end_message = ""  # why it ended, shown once the ring has played out ("" when it simply ended)
        self._generation = 0
        self._request: tuple[int, float] | None = None  # (track, start seconds) for the feeder
        self._until: float | None = None  # where the callback stops (``play --seconds``)
        self._stream = None
        self._rate = 0
        self._status = Status()
        self._mastered_now = True  # what the callback is currently playing
        self._primed = False  # the current generation has started to sound
        self._closed = False
        self._ahead = ThreadPoolExecutor(1, thread_name_prefix="auralis-next")  # the next track's mastering
        self._feeder = threading.Thread(target=self._feed_loop, name="auralis-feeder", daemon=True)
        self._feeder.start()

    # --- commands (any thread) ---------------------------------------------------------------

    def load(self, paths: Sequence[Path]) -> None:
        """Play a fixed list of files (keys are their positions)."""
        self.use(Tracks(paths))

    def use(self, playlist: Playlist) -> None:
        with self._lock:
            self._playlist = playlist

    def play(self, key: Hashable = 0, seconds: float = 0.0, until: float | None = None) -> None:
        """Start the playlist's ``key`` at ``seconds`` (and stop once ``until`` seconds of it have
        sounded); the newest call always wins."""
        with self._lock:
            if self._playlist.path_of(key) is None:
                raise IndexError(f"no track {key} in the playlist")
            self._start(key, seconds)
            self._until = until

    def _start(self, key: Hashable, seconds: float) -> None:
        self._until = None
        self._generation += 1
        self._ring.clear()
        self._primed = False
        self._request = (key, max(0.0, seconds))
        self._status.state = "playing"
        if key != self._status.track:  # another track: nothing is known of its mastering until it starts
            self._status.info, self._status.duration = None, 0.0
        self._status.track = key
        self._status.path = self._playlist.path_of(key)
        self._status.position = seconds
        self._status.message = ""
        self._lock.notify_all()

    def toggle_pause(self) -> None:
        with self._lock:
            if self._status.state == "playing":
                self._status.state = "paused"
            elif self._status.state == "paused":
                self._status.state = "playing"

    def stop(self) -> None:
        with self._lock:
            self._generation += 1
            self._ring.clear()
            self._request = None
            self._status.state = "stopped"
            self._lock.notify_all()

    def seek(self, seconds: float, relative: bool = False) -> None:
        """Move within the current track; a paused track stays paused. Before the track's length
        is known (it is still being prepared) the feeder keeps the target within it."""
        with self._lock:
            if self._status.track is None:
                return
            paused = self._status.state == "paused"
            target = self._status.position + seconds if relative else seconds
            end = self._status.duration - 0.05 if self._status.duration else target
            self._start(self._status.track, min(max(0.0, target), max(0.0, end)))
            if paused:
                self._status.state = "paused"

    def next(self) -> None:
        self._step(self._playlist.following)

    def previous(self) -> None:
        self._step(self._playlist.preceding)

    def _step(self, towards: Callable[[Hashable], Hashable | None]) -> None:
        with self._lock:
            if self._status.track is not None and (key := towards(self._status.track)) is not None:
                self._start(key, 0.0)

    def set_volume(self, volume: float) -> None:
        with self._lock:
            self._status.volume = min(1.0, max(0.0, volume))

    def set_mastered(self, mastered: bool) -> None:
        with self._lock:
            self._status.mastered = mastered

    def toggle_ab(self) -> bool:
        with self._lock:
            self._status.mastered = not self._status.mastered
            return self._status.mastered

    def set_blind(self, blind: bool) -> None:
        with self._lock:
            self._status.blind = blind

    def status(self) -> Status:
        with self._lock:
            self._check_stream()
            copy = Status(**vars(self._status))
            if copy.blind:
                copy.mastered = None  # hidden
            return copy

    def wait_until_stopped(self, timeout: float | None = None) -> bool:
        """Block until playback stops (or ``timeout`` seconds pass); notices a lost device."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._lock:
            while self._status.state != "stopped" and not self._closed:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return False
                self._lock.wait(0.25 if left is None else min(0.25, left))
                self._check_stream()
            return True

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._generation += 1
            self._ring.clear()
            self._lock.notify_all()
        self._feeder.join(timeout=5)
        self._ahead.shutdown(wait=False, cancel_futures=True)
        self._close_stream()

    # --- the audio callback (PortAudio's thread: copy only) ----------------------------------

    def _callback(self, outdata, frames, _time, status) -> None:
        """Copy prepared frames out. When the ring runs dry mid-track the callback waits up to a
        block for the feeder before it plays silence and counts an underrun; that
        also lets unpaced sinks (the test sink) receive exactly the decoded stream."""
        filled = popped = 0
        with self._lock:
            if status.output_underflow and self._status.state == "playing":
                self._status.underruns += 1
            if self._status.state == "paused":  # silence at the device's pace (unpaced sinks included)
                self._lock.wait_for(lambda: self._status.state != "paused", frames / self._rate)
            mastered, volume = bool(self._status.mastered), self._status.volume
            if not self._primed:
                self._mastered_now = mastered  # a new start: no crossfade from the old choice
            while self._status.state == "playing" and filled < frames:
                if not self._ring and self._exhausted == self._generation:  # the playlist has ended
                    self._status.state, self._status.message = "stopped", self._end_message  # played out
                    break
                if not self._ring:
                    arrived = self._lock.wait_for(
                        lambda: self._ring or self._status.state != "playing" or self._exhausted == self._generation,
                        STARVE_WAIT * frames / self._rate,
                    )
                    if not arrived:
                        self._status.underruns += self._primed
                        break
                    continue  # re-check: a pause or a new selection may have come meanwhile
                block = self._ring[0]
                if block.generation != self._generation:
                    self._ring.popleft()
                    popped += 1
                    continue
                take = min(frames - filled, len(block.original) - block.offset)
                self._copy(outdata[filled : filled + take], block, take, mastered, volume)
                block.offset += take
                filled += take
                self._primed = True
                self._status.track, self._status.path = block.track, block.path
                self._status.info, self._status.duration = block.info, block.duration
                self._status.position = (block.start + block.offset) / self._rate
                if block.offset == len(block.original):
                    self._ring.popleft()
                    popped += 1
                if self._until is not None and self._status.position >= self._until:
                    self._status.state = "stopped"  # timed by the device: an unpaced one races ahead
            outdata[filled:] = 0
            finished = self._status.state == "stopped"
            if popped or finished:  # room in the ring for the feeder, or stopped: wake who waits for it
                self._lock.notify_all()
        if finished:
            raise self._sd.CallbackStop  # PortAudio plays this buffer, then the stream rests until the next play

    def _copy(self, target: np.ndarray, block: _Block, take: int, mastered: bool, volume: float) -> None:
        """Copy ``take`` frames of the chosen version, crossfading after an A/B switch."""
        span = slice(block.offset, block.offset + take)
        chosen, other = (block.mastered, block.original) if mastered else (block.original, block.mastered)
        np.multiply(chosen[span], volume, out=target)
        if mastered != self._mastered_now:
            self._mastered_now = mastered
            n = min(max(1, int(CROSSFADE_SECONDS * self._rate)), take)
            ramp = np.linspace(0.0, 1.0, n, endpoint=False, dtype=np.float32)[:, None]
            head = slice(block.offset, block.offset + n)
            target[:n] = volume * (chosen[head] * ramp + other[head] * (1.0 - ramp))

    # --- the feeder thread -------------------------------------------------------------------

    def _feed_loop(self) -> None:
        while True:
            with self._lock:
                self._lock.wait_for(lambda: self._request is not None or self._closed)
                if self._closed:
                    return
                (key, start), generation = self._request, self._generation
                self._request = None
            try:
                self._feed_track(key, start, generation)
            except (audio.AudioError, AudioUnavailable, self._sd.PortAudioError) as exc:
                with self._lock:
                    if generation == self._generation:
                        self._status.state = "stopped"
                        self._status.message = str(exc)
                        self._lock.notify_all()

    def _feed_track(self, key: Hashable, seconds: float, generation: int) -> None:
        """Produce blocks from ``key`` on, gapless into the following tracks (a track at another
        sample rate waits for the ring to drain and reopens the stream). The next track's mastering
        is worked out while this one plays, so a slow lookup never leaves a gap between them."""
        upcoming = None  # (key, path, the future of its state)
        skipped: set[Hashable] = set()  # tracks that could not be played since this selection
        while True:
            path = self._playlist.path_of(key)
            if path is None:  # removed from the playlist meanwhile
                return self._end(generation)
            try:
                details = audio.info(path)
                same = upcoming and upcoming[:2] == (key, path)
                state = upcoming[2].result() if same else self.state_for(path)
                if not self._ensure_stream(details.rate, generation):
                    return
                with self._lock:
                    if generation != self._generation:
                        return
                    if not self._primed:  # nothing sounds yet: show the track now, not at its first block
                        self._status.info, self._status.duration = state, details.duration
                upcoming = None
                following = self._playlist.following(key)
                if following is not None and (after := self._playlist.path_of(following)) is not None:
                    upcoming = (following, after, self._ahead.submit(self.state_for, after))
                start = min(int(seconds * details.rate), max(0, details.frames - 1))
                if not self._produce(key, path, start, generation, state, details.duration):
                    return
                skipped.clear()  # with repeat on, a file skipped on the last round is no sign of a dead end
            except audio.AudioError as exc:  # an unreadable file: play on with the next one, as MPD does
                skipped.add(key)
                key, seconds, upcoming = self._playlist.following(key), 0.0, None
                if key is None or key in skipped:  # nothing playable follows: stop, saying why —
                    with self._lock:  # once what the ring holds has played
                        queued = any(block.generation == generation for block in self._ring)
                    if not queued:
                        raise
                    return self._end(generation, str(exc))
                with self._lock:
                    if generation == self._generation:
                        self._status.message = f"skipped {exc}"
                continue
            key, seconds = self._playlist.following(key), 0.0  # asked again: the playlist may have changed
            if key is None:
                return self._end(generation)

    def _end(self, generation: int, message: str = "") -> None:
        """Nothing follows: the callback stops once the ring has played out, showing ``message``."""
        with self._lock:
            if generation == self._generation:
                self._exhausted, self._end_message = generation, message
                self._lock.notify_all()

    def _produce(
        self, key: Hashable, path: Path, start: int, generation: int, state: TrackState, duration: float
    ) -> bool:
        """Fill the ring with one track; False when a newer command took over.

        Loudness matching plays both versions at the quieter one's integrated loudness (the
        fingerprint's BS.1770 value for the original, original + chain gain for the master).
        """
        params = MasterParams(**state.parameters)
        lufs = state.fingerprint.lufs
        gain_db = loudness_gain_db(lufs, params)
        chain = StreamingMaster(params, self._rate, 2, gain_db)
        mastered_lufs = lufs + gain_db
        common = min(lufs, mastered_lufs)
        original_gain = 10 ** ((common - lufs) / 20) if self.match_loudness else 1.0
        mastered_gain = 10 ** ((common - mastered_lufs) / 20) if self.match_loudness else 1.0
        waiting = np.zeros((0, 2), dtype=np.float32)  # original frames the chain has not returned yet
        position = start
        blocks = audio.read_blocks(path, CHUNK, start)
        pending = next(blocks, None)
        while pending is not None:
            upcoming = next(blocks, None)
            stereo = audio.to_stereo(pending)
            mastered = chain.process(stereo)
            if upcoming is None:
                mastered = np.concatenate([mastered, chain.flush()])
            waiting = np.concatenate([waiting, stereo])
            original, waiting = waiting[: len(mastered)], waiting[len(mastered) :]
            if len(original):
                block = _Block(generation, key, path, position, (original * original_gain).astype(np.float32),
                               (mastered * mastered_gain).astype(np.float32), 0, state, duration)  # fmt: skip
                position += len(original)
                if not self._put(block):
                    return False
            pending = upcoming
        return True

    def _put(self, block: _Block) -> bool:
        with self._lock:
            self._lock.wait_for(
                lambda: len(self._ring) < RING_BLOCKS or block.generation != self._generation or self._closed
            )
            if block.generation != self._generation or self._closed:
                return False
            self._ring.append(block)
            if len(self._ring) == 1:  # a starved callback may be waiting for it
                self._lock.notify_all()
            return True

    # --- the stream --------------------------------------------------------------------------

    def _ensure_stream(self, rate: int, generation: int) -> bool:
        """An open stream at ``rate`` (after the ring drained); False when a newer command came."""
        if self._stream is not None and self._stream.active and self._rate == rate:
            return True
        with self._lock:
            self._lock.wait_for(lambda: not self._ring or generation != self._generation or self._closed)
            if generation != self._generation or self._closed:
                return False
        self._close_stream()
        try:
            stream = self._sd.OutputStream(
                samplerate=rate, blocksize=BLOCK, device=self.device, channels=2, dtype="float32",
                callback=self._callback, finished_callback=self._stream_finished,
            )  # fmt: skip
            with self._lock:
                self._stream, self._rate = stream, rate
            stream.start()
        except self._sd.PortAudioError as exc:
            raise AudioUnavailable(f"no sound: cannot open the output at {rate} Hz ({exc})") from None
        return True

    def _stream_finished(self) -> None:
        with self._lock:
            self._check_stream()
            self._lock.notify_all()

    def _check_stream(self) -> None:
        if self._device_lost():
            self._status.state = "stopped"
            self._status.message = "audio device lost; playback stopped"

    def _device_lost(self) -> bool:
        """The stream stopped while the current selection was sounding (not between selections)."""
        playing = self._status.state == "playing" and self._primed and not self._closed
        return playing and self._stream is not None and not self._stream.active

    def _close_stream(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            stream.abort()
            stream.close()
