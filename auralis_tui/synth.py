"""Deterministic synthesized music for the demo library and the tests.

Each :class:`Character` describes a recording type in production terms (tempo, brightness,
distortion, stereo spread, room, crowd, hiss, band limits); :func:`render` turns it into a
short arrangement — kick, snare, hats, bass line and chords over a I–V–vi–IV progression —
and then "records" it the way that kind of recording sounds. Same inputs, same samples.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import signal


@dataclass(frozen=True)
class Character:
    """How one kind of recording sounds, in production terms."""

    tempo: float = 120.0
    key_hz: float = 110.0  # root of the progression (A2)
    brightness_hz: float = 9000.0  # low-pass on the chords
    hats: float = 0.25  # hi-hat level
    air: float = 0.0  # level of a 10–18 kHz shimmer
    distortion: float = 0.0  # tanh drive on the chords (power chords when > 0)
    double_kick: bool = False
    spread: float = 0.5  # 0 = everything centre, 1 = hard-panned parts
    room: float = 0.0  # decorrelated reverb level
    crowd: float = 0.0  # crowd-noise level
    hiss: float = 0.0  # tape/air hiss level
    band: tuple[float, float] | None = None  # recording bandwidth (Hz), None = full
    squash: float = 0.0  # 0 = dynamic, 1 = brick-wall loud
    mono: bool = False
    level_db: float = -14.0  # target RMS-ish level before the squash stage


CHARACTERS: dict[str, Character] = {
    "studio_hd_bright": Character(tempo=118, brightness_hz=16000, hats=0.35, air=0.09, spread=0.6, squash=0.3),
    "studio": Character(tempo=96, key_hz=98.0, brightness_hz=4500, hats=0.12, spread=0.5, squash=0.25),
    "metal": Character(
        tempo=168,
        key_hz=82.4,
        brightness_hz=7000,
        hats=0.2,
        distortion=6.0,
        double_kick=True,
        spread=0.7,
        squash=0.6,
        level_db=-11.0,
    ),
    "bootleg": Character(
        tempo=126,
        brightness_hz=3000,
        hats=0.1,
        spread=0.1,
        room=0.15,
        crowd=0.35,
        hiss=0.02,
        band=(120.0, 3400.0),
        level_db=-20.0,
    ),
    "live": Character(
        tempo=104, key_hz=123.5, brightness_hz=8000, hats=0.2, spread=0.9, room=0.6, crowd=0.12, level_db=-18.0
    ),
    "vintage": Character(
        tempo=88,
        key_hz=130.8,
        brightness_hz=3500,
        hats=0.08,
        spread=0.0,
        hiss=0.015,
        band=(90.0, 5500.0),
        mono=True,
        level_db=-18.0,
    ),
}

_PROGRESSION = (0, 7, 9, 5)  # I – V – vi – IV in semitones above the root
_MAJOR, _MINOR = (0, 4, 7), (0, 3, 7)


def render(character: Character, seconds: float, rate: int, seed: int = 0) -> np.ndarray:
    """Render ``seconds`` of music; float32 ``(frames, 2)`` or ``(frames, 1)`` when mono."""
    rng = np.random.default_rng(seed)
    frames = round(seconds * rate)
    beat = 60.0 / character.tempo
    parts = [
        (_drums(character, frames, rate, beat, rng), 0.0),
        (_bass(character, frames, rate, beat), 0.0),
    ]
    chords = _chords(character, frames, rate, beat)
    parts += [(chords, -character.spread), (np.roll(chords, int(0.012 * rate)), character.spread)]
    if character.hats:
        parts.append((character.hats * _hats(frames, rate, beat / 2, rng), 0.6 * character.spread))
    if character.air:
        parts.append((character.air * _band_noise(frames, rate, 10000, 18000, rng), -0.4 * character.spread))
    stereo = _pan_mix(parts, frames)
    if character.room:
        stereo += character.room * _room(stereo, rate, rng)
    if character.crowd:
        stereo += character.crowd * _crowd(frames, rate, rng) * np.sqrt(np.mean(stereo**2))
    stereo = _set_level(stereo, character.level_db)
    if character.squash:
        drive = 10.0 ** (12.0 * character.squash / 20.0)
        stereo = np.tanh(stereo * drive) / np.tanh(drive) * 0.8
    if character.band:
        sos = signal.butter(
            4, [character.band[0], min(character.band[1], 0.45 * rate)], "bandpass", fs=rate, output="sos"
        )
        stereo = signal.sosfilt(sos, stereo, axis=0)
    if character.hiss:
        stereo += character.hiss * rng.standard_normal(stereo.shape) * 0.1
    if character.mono:
        return (stereo.mean(axis=1, keepdims=True) * 0.9).astype(np.float32)
    return (stereo / max(1.0, np.abs(stereo).max() / 0.95)).astype(np.float32)


def _envelope(length: int, rate: int, decay: float) -> np.ndarray:
    return np.exp(-np.arange(length) / (decay * rate))


def _place(track: np.ndarray, hit: np.ndarray, starts: np.ndarray) -> None:
    for start in starts[starts < len(track)]:
        end = min(len(track), start + len(hit))
        track[start:end] += hit[: end - start]


def _drums(character: Character, frames: int, rate: int, beat: float, rng) -> np.ndarray:
    track = np.zeros(frames)
    t = np.arange(int(0.35 * rate)) / rate
    kick = np.sin(2 * np.pi * (45 * t + 70 * 0.04 * (1 - np.exp(-t / 0.04)))) * _envelope(len(t), rate, 0.12)
    kick_step = beat / 2 if character.double_kick else beat
    _place(track, 0.9 * kick, (np.arange(0, frames / rate, kick_step) * rate).astype(int))
    snare = _band_noise(int(0.2 * rate), rate, 180, 7000, rng) * _envelope(int(0.2 * rate), rate, 0.05)
    snare += 0.4 * np.sin(2 * np.pi * 190 * np.arange(len(snare)) / rate) * _envelope(len(snare), rate, 0.03)
    _place(track, 0.7 * snare, ((np.arange(0, frames / rate, 2 * beat) + beat) * rate).astype(int))
    return track


def _hats(frames: int, rate: int, step: float, rng) -> np.ndarray:
    track = np.zeros(frames)
    hat = _band_noise(int(0.06 * rate), rate, 7000, 0.45 * rate, rng) * _envelope(int(0.06 * rate), rate, 0.015)
    _place(track, hat, (np.arange(0, frames / rate, step) * rate).astype(int))
    return track


def _tone(freqs: np.ndarray, rate: int, harmonics: int, rolloff: float) -> np.ndarray:
    """Band-limited saw-like tone following a per-sample frequency track."""
    phase = 2 * np.pi * np.cumsum(freqs) / rate
    out = np.zeros(len(freqs))
    for h in range(1, harmonics + 1):
        audible = h * freqs < 0.45 * rate
        out += audible * np.sin(h * phase) / h**rolloff
    return out


def _chord_roots(character: Character, frames: int, rate: int, beat: float) -> np.ndarray:
    bar = int(4 * beat * rate)
    index = (np.arange(frames) // bar) % len(_PROGRESSION)
    return character.key_hz * 2.0 ** (np.array(_PROGRESSION)[index] / 12.0)


def _bass(character: Character, frames: int, rate: int, beat: float) -> np.ndarray:
    roots = _chord_roots(character, frames, rate, beat) / 2
    pulse = 0.6 + 0.4 * _envelope(int(beat * rate), rate, beat / 2)
    gate = np.resize(pulse, frames)
    return 0.5 * _tone(roots, rate, 6, 1.5) * gate


def _chords(character: Character, frames: int, rate: int, beat: float) -> np.ndarray:
    roots = _chord_roots(character, frames, rate, beat) * 2
    minor = np.isclose(np.log2(roots / (character.key_hz * 2)) * 12 % 12, 9)
    out = np.zeros(frames)
    intervals = ((0, 7, 12),) if character.distortion else (_MAJOR,)
    for step in range(3):
        semis = np.where(minor, _MINOR[step], intervals[0][step]) if not character.distortion else intervals[0][step]
        out += _tone(roots * 2.0 ** (np.asarray(semis) / 12.0), rate, 12, 1.0)
    if character.distortion:
        out = np.tanh(character.distortion * out / 3.0)
    sos = signal.butter(2, min(character.brightness_hz, 0.45 * rate), "lowpass", fs=rate, output="sos")
    return 0.25 * signal.sosfilt(sos, out)


def _band_noise(length: int, rate: int, low: float, high: float, rng) -> np.ndarray:
    high = min(high, 0.45 * rate)
    low = min(low, high * 0.5)
    sos = signal.butter(4, [low, high], "bandpass", fs=rate, output="sos")
    return signal.sosfilt(sos, rng.standard_normal(length))


def _pan_mix(parts, frames: int) -> np.ndarray:
    stereo = np.zeros((frames, 2))
    for audio, pan in parts:  # constant-power pan, −1 = left, +1 = right
        angle = (np.clip(pan, -1, 1) + 1) * np.pi / 4
        stereo[:, 0] += np.cos(angle) * audio
        stereo[:, 1] += np.sin(angle) * audio
    return stereo


def _room(stereo: np.ndarray, rate: int, rng) -> np.ndarray:
    """A diffuse room: 1.2 s decaying noise impulse responses, different per side."""
    length = int(1.2 * rate)
    decay = _envelope(length, rate, 0.25)
    mono = stereo.mean(axis=1)
    out = np.empty_like(stereo)
    for ch in range(2):
        response = rng.standard_normal(length) * decay / np.sqrt(length * 0.25 * 0.5)
        out[:, ch] = signal.oaconvolve(mono, response)[: len(mono)]
    return out


def _crowd(frames: int, rate: int, rng) -> np.ndarray:
    """Crowd noise: band-limited noise with slow swells, independent per side."""
    noise = np.stack([_band_noise(frames, rate, 300, 4000, rng) for _ in range(2)], axis=1)
    swell = 0.5 + 0.5 * np.sin(2 * np.pi * np.arange(frames) / rate / 7.0) ** 2
    return noise * swell[:, None] / max(np.std(noise), 1e-9)


def _set_level(stereo: np.ndarray, level_db: float) -> np.ndarray:
    rms = np.sqrt(np.mean(stereo**2))
    return stereo * (10.0 ** (level_db / 20.0) / rms) if rms > 0 else stereo
