"""Decoding and encoding audio files through libsndfile, with clear errors.

Every decoded signal is float32, shaped ``(frames, channels)``. Files with more than two
channels are folded to stereo by :func:`to_stereo` (documented there); mono stays mono until
a consumer asks for stereo.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from .errors import AudioError
from .quiet import library_noise_silenced as quiet

#: Extension → (libsndfile major format, subtype) used when writing.
WRITE_FORMATS: dict[str, tuple[str, str]] = {
    ".wav": ("WAV", "PCM_24"),
    ".flac": ("FLAC", "PCM_24"),
    ".aiff": ("AIFF", "PCM_24"),
    ".aif": ("AIFF", "PCM_24"),
    ".ogg": ("OGG", "VORBIS"),
    ".opus": ("OGG", "OPUS"),
    ".mp3": ("MP3", "MPEG_LAYER_III"),
}

#: libsndfile's header report when a PCM chunk is shorter than declared (WAV, AIFF, W64 …).
_TRUNCATED = re.compile(r"^\s*(data|SSND)\s*:\s*\d+ \(should be|> file length", re.MULTILINE)

#: Frames handed to libsndfile per write call (long single calls crash its Vorbis encoder).
WRITE_BLOCK = 65536

#: Sample rates libopus accepts; other rates cannot be written as .opus.
OPUS_RATES = (8000, 12000, 16000, 24000, 48000)


@dataclass(frozen=True)
class Audio:
    """Decoded audio: ``samples`` is float32 ``(frames, channels)`` at ``rate`` Hz."""

    samples: np.ndarray
    rate: int

    @property
    def channels(self) -> int:
        return int(self.samples.shape[1])

    @property
    def frames(self) -> int:
        return int(self.samples.shape[0])

    @property
    def duration(self) -> float:
        return self.frames / self.rate


@dataclass(frozen=True)
class AudioInfo:
    """Header facts about a file, read without decoding it."""

    rate: int
    channels: int
    frames: int
    format: str
    subtype: str

    @property
    def duration(self) -> float:
        return self.frames / self.rate if self.rate else 0.0


#: libsndfile's words for "this is not a format I know" (for an existing, non-empty file).
_NOT_AUDIO = ("unknown format", "format not recognised", "does not exist or is not a regular file")


def _libsndfile_reason(exc: Exception) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if any(words in text.lower() for words in _NOT_AUDIO):
        return "not an audio file (format not recognised)"
    if "unspecified internal error" in text.lower():  # e.g. libmpg123 giving up on a damaged stream
        return "damaged audio data: the decoder gave up"
    return text.split(": ", 1)[-1] if "Error opening" in text else text


def info(path: str | Path) -> AudioInfo:
    """Read the header of ``path``; raises :class:`AudioError` when it is not readable audio."""
    path = Path(path)
    if not path.is_file():
        raise AudioError(path, "no such file")
    if path.stat().st_size == 0:
        raise AudioError(path, "empty file (0 bytes)")
    try:
        with quiet():
            meta = sf.info(str(path))
    except (RuntimeError, sf.LibsndfileError, ValueError) as exc:
        raise AudioError(path, _libsndfile_reason(exc)) from None
    if meta.samplerate <= 0 or meta.channels <= 0:
        raise AudioError(path, "header declares no sample rate or channels")
    if _TRUNCATED.search(meta.extra_info or ""):
        raise AudioError(path, "truncated: the header promises more audio than the file holds")
    return AudioInfo(meta.samplerate, meta.channels, int(meta.frames), meta.format, meta.subtype)


def _check_finite(path: Path, block: np.ndarray) -> None:
    if not np.isfinite(block).all():
        raise AudioError(path, "contains NaN or infinite samples")


def decode(path: str | Path) -> Audio:
    """Decode the whole file to float32 ``(frames, channels)``.

    Raises :class:`AudioError` for missing, empty, non-audio, zero-length, truncated or
    NaN/Inf-bearing files.
    """
    path = Path(path)
    meta = info(path)
    try:
        with quiet():
            samples, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except (RuntimeError, sf.LibsndfileError, ValueError) as exc:
        raise AudioError(path, f"decoding failed ({_libsndfile_reason(exc)})") from None
    _check_finite(path, samples)
    return _complete(path, meta, samples, int(rate))


def _complete(path: Path, meta: AudioInfo, samples: np.ndarray, rate: int) -> Audio:
    """The decoded file, unless it holds no frames or not the frames its header promises."""
    if samples.shape[0] == 0:
        raise AudioError(path, "contains no audio frames")
    if 0 < meta.frames < samples.shape[0] * 0.999 or samples.shape[0] < meta.frames * 0.999:
        raise AudioError(path, f"truncated: header promises {meta.frames} frames, file holds {samples.shape[0]}")
    return Audio(samples, rate)


#: Frames per read of a :class:`BackgroundDecode` (~1.5 s at 44.1 kHz).
DECODE_BLOCK = 1 << 16


class BackgroundDecode:
    """:func:`decode` running in a thread, block by block into one float32 array, so that a
    consumer can analyse the decoded prefix meanwhile: libsndfile's reads run without the GIL
    (cffi releases it), and so do numpy's FFTs and large array operations.

    The header is read (and checked) at once; :meth:`progress` yields the decoded prefix each time
    it grows; :meth:`result` waits for the end and returns what :func:`decode` would, or raises
    the same :class:`AudioError`. Unfinished work is abandoned by :meth:`close`.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.info = info(self.path)
        self._samples = np.empty((max(1, self.info.frames), self.info.channels), np.float32)
        self._ready = 0
        self._finished = False
        self._stopping = False
        self._error: AudioError | None = None
        self._changed = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="auralis-decode", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        error = None
        try:
            self._read_all()
        except AudioError as exc:
            error = exc
        except (RuntimeError, sf.LibsndfileError, ValueError) as exc:
            error = AudioError(self.path, f"decoding failed ({_libsndfile_reason(exc)})")
        with self._changed:
            self._error, self._finished = error, True
            self._changed.notify_all()

    def _read_all(self) -> None:
        with quiet():
            handle = sf.SoundFile(str(self.path))
        with handle:
            while not self._stopping:
                room = len(self._samples) - self._ready
                with quiet():  # a file longer than its header says is read on into a new block
                    if room:
                        block = handle.read(out=self._samples[self._ready : self._ready + min(room, DECODE_BLOCK)])
                    else:
                        block = handle.read(DECODE_BLOCK, dtype="float32", always_2d=True)
                if len(block) == 0:
                    return
                _check_finite(self.path, block)
                if not room:
                    self._grow(block)
                with self._changed:
                    self._ready += len(block)
                    self._changed.notify_all()

    def _grow(self, block: np.ndarray) -> None:
        grown = np.empty((2 * len(self._samples) + len(block), self._samples.shape[1]), np.float32)
        grown[: self._ready] = self._samples[: self._ready]
        grown[self._ready : self._ready + len(block)] = block
        with self._changed:
            self._samples = grown  # the prefixes handed out stay valid: they keep the old array

    def progress(self) -> Iterator[np.ndarray]:
        """Yield the decoded prefix (float32 frames × channels) each time it has grown, until the end."""
        seen = 0
        while True:
            with self._changed:
                self._changed.wait_for(lambda seen=seen: self._ready > seen or self._finished)
                ready, samples, finished = self._ready, self._samples, self._finished
            if ready > seen:
                seen = ready
                yield samples[:ready]
            elif finished:
                return

    def result(self) -> Audio:
        """The decoded file (as :func:`decode` returns it), once the thread is done."""
        self._thread.join()
        if self._error is not None:
            raise self._error
        return _complete(self.path, self.info, self._samples[: self._ready], self.info.rate)

    def close(self) -> None:
        """Stop decoding (at the next block) and wait for the thread."""
        self._stopping = True
        self._thread.join()


def read_blocks(path: str | Path, blocksize: int, start: int = 0) -> Iterator[np.ndarray]:
    """Yield float32 ``(frames, channels)`` blocks of at most ``blocksize`` frames from ``start``."""
    path = Path(path)
    info(path)
    try:
        with quiet():
            handle = sf.SoundFile(str(path))
        with handle:
            if start:
                with quiet():
                    handle.seek(start)
            while True:
                with quiet():  # not across the yield: the consumer's own stderr stays as it is
                    block = handle.read(blocksize, dtype="float32", always_2d=True)
                if block.shape[0] == 0:
                    return
                _check_finite(path, block)
                yield block
    except (RuntimeError, sf.LibsndfileError, ValueError) as exc:
        raise AudioError(path, f"decoding failed ({_libsndfile_reason(exc)})") from None


def to_mono(samples: np.ndarray) -> np.ndarray:
    """Average all channels to one float32 channel, shape ``(frames,)``."""
    if samples.shape[1] == 1:
        return samples[:, 0]
    if samples.shape[1] == 2:
        return (samples[:, 0] + samples[:, 1]) * np.float32(0.5)
    return np.add.reduce(samples, axis=1, dtype=np.float32) / np.float32(samples.shape[1])


def to_stereo(samples: np.ndarray) -> np.ndarray:
    """Return float32 ``(frames, 2)``.

    Mono is duplicated to both sides. For more than two channels (WAV/FLAC order: L, R, C,
    LFE, surrounds …) the first two channels are kept as L/R and every further channel except
    the LFE (index 3 when there are at least 6 channels) is added to both sides at −3 dB, as
    in the ITU-R BS.775 downmix.
    """
    channels = samples.shape[1]
    if channels == 2:
        return samples
    if channels == 1:
        return np.repeat(samples, 2, axis=1)
    extra = [i for i in range(2, channels) if not (channels >= 6 and i == 3)]
    shared = samples[:, extra].sum(axis=1, dtype=np.float32) * np.float32(np.sqrt(0.5))
    return np.stack([samples[:, 0] + shared, samples[:, 1] + shared], axis=1)


def check_output(path: str | Path, rate: int) -> tuple[str, str]:
    """The libsndfile (format, subtype) ``path`` is written in, or ``AudioError`` saying why it
    cannot be: an unknown extension, a rate the format cannot store, no folder to write into."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in WRITE_FORMATS:
        known = ", ".join(sorted(WRITE_FORMATS))
        raise AudioError(path, f"unknown output format '{suffix}' (use one of {known})")
    if suffix == ".opus" and rate not in OPUS_RATES:
        raise AudioError(path, f"Opus cannot store {rate} Hz (use {', '.join(map(str, OPUS_RATES))})")
    if not path.parent.is_dir():
        raise AudioError(path, f"no folder {path.parent} to write into")
    return WRITE_FORMATS[suffix]


def write(path: str | Path, samples: np.ndarray, rate: int) -> None:
    """Write float samples to ``path`` atomically (temp file + rename); format from the extension."""
    path = Path(path)
    major, subtype = check_output(path, rate)
    partial = path.with_name(f".{path.name}.partial")
    samples = samples[:, None] if samples.ndim == 1 else samples
    try:
        with sf.SoundFile(str(partial), "w", rate, samples.shape[1], subtype, format=major) as handle:
            for start in range(0, len(samples), WRITE_BLOCK):  # libsndfile's Vorbis writer crashes on
                handle.write(samples[start : start + WRITE_BLOCK])  # one call of more than ~96 s
        os.replace(partial, path)
    except (RuntimeError, sf.LibsndfileError, ValueError, OSError) as exc:
        partial.unlink(missing_ok=True)
        raise AudioError(path, f"writing failed ({_libsndfile_reason(exc)})") from None
