"""The mastering chain: high-pass → EQ → mid/side width → gain to target loudness → true-peak limiter.

The chain opens with a 20 Hz high-pass (2nd-order Butterworth), so a DC offset or subsonic
rumble never reaches the EQ and the limiter (a low shelf would lift DC into gain reduction).
EQ uses the RBJ Audio-EQ-Cookbook biquads (Robert Bristow-Johnson): a low shelf (bass), a
peaking filter (mid) and a high shelf (treble), shelf slope S = 1. Offline rendering and the
block-streaming processor share :func:`design_eq`, :func:`apply_width` and the limiter's
:func:`limiter_gain`, so a streamed track equals the offline render.

Loudness is measured as the track is heard on a stereo pair (``loudness.playback_loudness``):
a mono file plays on both speakers, so it is mastered to the same loudness as its stereo
duplicate. Silence is never boosted: material below the BS.1770 absolute gate keeps unity gain.
scipy is imported inside the functions that use it (``import engine.master`` stays light).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from . import audio, loudness
from .audio import to_stereo
from .model import MasterParams

HIGHPASS_HZ = 20.0  # DC blocker / subsonic filter at the head of the chain
LOOKAHEAD_SECONDS = 0.005  # attack ramp of the limiter
HOLD_SECONDS = 0.020  # gain stays reduced this long after a peak before releasing
# The limiter aims this far below the ceiling: the 8× envelope can read a tone near 0.46·fs up
# to 0.15 dB low between its grid points (see loudness.oversampling_factor).
SAFETY_DB = 0.2
LOUDNESS_TOLERANCE_LU = 0.2  # re-run the loudness stage when the output misses by more
ENVELOPE_SLACK_DB = 3.0  # interpolate where 3 dB more gain could reach the ceiling; more gain re-runs it
_INTERPOLATION_SPAN = loudness.INTERPOLATION_REACH  # samples on each side that shape an inter-sample peak
SHAPE_BLOCK = 1 << 16  # frames the offline render filters at a time


# --- EQ -----------------------------------------------------------------------------------


def _shelf(kind: str, freq: float, gain_db: float, rate: float) -> list[float]:
    """RBJ cookbook shelving biquad (S = 1) as one second-order section."""
    a = 10.0 ** (gain_db / 40.0)
    w0 = 2.0 * np.pi * freq / rate
    cos_w0 = np.cos(w0)
    alpha = np.sin(w0) / 2.0 * np.sqrt(2.0)  # (A + 1/A)(1/S − 1) + 2 = 2 for S = 1
    root = 2.0 * np.sqrt(a) * alpha
    sign = 1.0 if kind == "low" else -1.0
    b0 = a * ((a + 1) - sign * (a - 1) * cos_w0 + root)
    b1 = sign * 2 * a * ((a - 1) - sign * (a + 1) * cos_w0)
    b2 = a * ((a + 1) - sign * (a - 1) * cos_w0 - root)
    a0 = (a + 1) + sign * (a - 1) * cos_w0 + root
    a1 = -sign * 2 * ((a - 1) + sign * (a + 1) * cos_w0)
    a2 = (a + 1) + sign * (a - 1) * cos_w0 - root
    return [b0 / a0, b1 / a0, b2 / a0, 1.0, a1 / a0, a2 / a0]


def _highpass(freq: float, rate: float) -> list[float]:
    """RBJ cookbook high-pass biquad with Q = 1/√2: a 2nd-order Butterworth, −3 dB at ``freq``."""
    w0 = 2.0 * np.pi * freq / rate
    cos_w0 = np.cos(w0)
    alpha = np.sin(w0) / np.sqrt(2.0)
    a0 = 1.0 + alpha
    return [(1 + cos_w0) / 2 / a0, -(1 + cos_w0) / a0, (1 + cos_w0) / 2 / a0, 1.0, -2 * cos_w0 / a0, (1 - alpha) / a0]


def _peak(freq: float, gain_db: float, q: float, rate: float) -> list[float]:
    """RBJ cookbook peaking-EQ biquad as one second-order section."""
    a = 10.0 ** (gain_db / 40.0)
    w0 = 2.0 * np.pi * freq / rate
    alpha = np.sin(w0) / (2.0 * q)
    a0 = 1 + alpha / a
    return [
        (1 + alpha * a) / a0,
        -2 * np.cos(w0) / a0,
        (1 - alpha * a) / a0,
        1.0,
        -2 * np.cos(w0) / a0,
        (1 - alpha / a) / a0,
    ]


def design_eq(params: MasterParams, rate: float) -> np.ndarray:
    """Second-order sections (4×6): 20 Hz high-pass, low shelf, mid peak, high shelf.

    Corner frequencies above 45 % of the sample rate are pulled down to it, so an 8 kHz file
    still gets a (lower) treble shelf instead of an unstable filter.
    """
    limit = 0.45 * rate
    return np.array(
        [
            _highpass(HIGHPASS_HZ, rate),
            _shelf("low", min(params.bass_hz, limit), params.bass_db, rate),
            _peak(min(params.mid_hz, limit), params.mid_db, params.mid_q, rate),
            _shelf("high", min(params.treble_hz, limit), params.treble_db, rate),
        ]
    )


def steady_state(sos: np.ndarray, first: np.ndarray) -> np.ndarray:
    """Filter state ``(sections, 2, channels)`` as if the first frame had always been there.

    A track that opens on a DC offset then starts without a step through the high-pass (a
    false peak the limiter would act on).
    """
    from scipy.signal import sosfilt_zi

    return sosfilt_zi(sos)[:, :, None] * np.asarray(first, np.float64)[None, None, :]


def apply_width(samples: np.ndarray, width: float) -> np.ndarray:
    """Scale the side signal by ``1 + width`` (mid = (L+R)/2, side = (L−R)/2); mono passes through.

    Written as L' = a·L + b·R, R' = b·L + a·R with a = (2 + width)/2, b = −width/2.
    """
    if samples.shape[1] != 2 or width == 0.0:
        return samples
    direct, cross = (2.0 + width) / 2.0, -width / 2.0
    out = np.empty_like(samples)
    left, right = samples[:, 0], samples[:, 1]
    np.multiply(left, direct, out=out[:, 0])
    out[:, 0] += cross * right
    np.multiply(right, direct, out=out[:, 1])
    out[:, 1] += cross * left
    return out


class _Shaper:
    """EQ then width, fed consecutive blocks (the filter state carries over): float64 inside a
    block, more than two channels folded to stereo first. The offline render and the stream
    shape alike, so a track sounds the same either way."""

    def __init__(self, params: MasterParams, rate: int) -> None:
        self.sos, self.width = design_eq(params, rate), params.width
        self.state: np.ndarray | None = None  # set from the first frame (see steady_state)

    def __call__(self, block: np.ndarray) -> np.ndarray:
        from scipy import signal

        block = (to_stereo(block) if block.shape[1] > 2 else block).astype(np.float64)
        if not len(block):
            return block
        if self.state is None:
            self.state = steady_state(self.sos, block[0])
        filtered, self.state = signal.sosfilt(self.sos, block, axis=0, zi=self.state)
        return apply_width(filtered, self.width)


def _shape(samples: np.ndarray, params: MasterParams, rate: int) -> np.ndarray:
    """The shaped track (float32), block by block: no whole-track float64 temporaries (a 4-minute
    stereo track is 170 MB in float64, and freshly faulted-in pages cost up to 2 s of system
    time on a VM)."""
    shaper = _Shaper(params, rate)
    shaped = np.empty((len(samples), min(samples.shape[1], 2)), np.float32)
    for first in range(0, len(samples), SHAPE_BLOCK):
        shaped[first : first + SHAPE_BLOCK] = shaper(samples[first : first + SHAPE_BLOCK])
    return shaped


# --- limiter ------------------------------------------------------------------------------


@dataclass(frozen=True)
class LimiterTiming:
    """Limiter windows in samples at one rate."""

    lookahead: int
    hold: int

    @classmethod
    def at(cls, rate: int) -> LimiterTiming:
        return cls(max(1, round(rate * LOOKAHEAD_SECONDS)), max(_INTERPOLATION_SPAN, round(rate * HOLD_SECONDS)))

    @property
    def latency(self) -> int:
        """Samples of input needed beyond an output sample (look-ahead + interpolation reach)."""
        return self.lookahead + 2 * _INTERPOLATION_SPAN - 1

    @property
    def history(self) -> int:
        """Samples of past input the gain of the next output sample depends on."""
        return self.hold + self.lookahead + 2 * _INTERPOLATION_SPAN


def true_peak_envelope(samples: np.ndarray, rate: int, threshold: float = 0.0) -> np.ndarray:
    """Per-sample true-peak magnitude, linked across channels (max over channels).

    Exact wherever it can reach ``threshold`` (see ``loudness.true_peak_envelope``).
    """
    factor = loudness.oversampling_factor(rate)
    envelope = loudness.true_peak_envelope(samples[:, 0], factor, threshold)
    for ch in range(1, samples.shape[1]):
        np.maximum(envelope, loudness.true_peak_envelope(samples[:, ch], factor, threshold), out=envelope)
    return envelope


def limiter_gain(envelope: np.ndarray, gain: float, ceiling: float, timing: LimiterTiming) -> np.ndarray:
    """Smooth per-sample gain that keeps ``gain × envelope`` under ``ceiling`` (linear units).

    ``r[n] = min(1, ceiling / (gain·env[n]))``; ``m[j] = min r[j−hold … j+lookahead−1+span]``;
    the applied gain is the moving average of ``m`` over the last ``lookahead`` samples, which
    is never above ``r`` at any sample from ``n−hold`` to ``n+span`` (span = the envelope's reach,
    36) — so every sample that shapes an inter-sample peak is already turned down when it arrives.
    """
    with np.errstate(divide="ignore", over="ignore"):  # silence / denormals: r = inf → 1
        required = np.minimum(np.float32(1.0), np.float32(ceiling / gain) / envelope)
    if len(required) == 0 or required.min() >= 1.0:
        return np.broadcast_to(np.float32(1.0), required.shape)  # idle: unity, read-only, no memory
    from scipy import ndimage

    # the signal is preceded by silence (r = 1); the average must see m[j] for those j too
    lead = timing.lookahead - 1
    required = np.concatenate([np.ones(lead), required])
    held = ndimage.minimum_filter1d(
        required,
        timing.hold + timing.lookahead + _INTERPOLATION_SPAN,
        origin=_origin(timing.hold, timing.lookahead - 1 + _INTERPOLATION_SPAN),
        mode="constant",
        cval=1.0,
    )
    total = np.cumsum(held, dtype=np.float64)
    average = (total[lead:] - np.concatenate([[0.0], total[: len(total) - lead - 1]])) / timing.lookahead
    return np.minimum(average, 1.0)


def _origin(before: int, after: int) -> int:
    """ndimage ``origin`` that makes a filter's window for sample i span ``[i − before, i + after]``."""
    return before - (before + after + 1) // 2


class StreamingMaster:
    """Block-by-block mastering with state kept across blocks (for real-time playback).

    ``process`` returns output delayed by :attr:`latency` samples; ``flush`` returns the tail.
    The concatenated outputs have exactly as many frames as the inputs.
    """

    def __init__(self, params: MasterParams, rate: int, channels: int, gain_db: float) -> None:
        self.rate = rate
        self.channels = min(channels, 2)
        self.gain = 10.0 ** (gain_db / 20.0)
        self.ceiling = 10.0 ** ((params.ceiling_dbtp - SAFETY_DB) / 20.0)
        self.timing = LimiterTiming.at(rate)
        self.pre_loudness = _Shaper(params, rate)  # EQ and width for one block, as the offline render
        self._buffer = np.zeros((self.timing.history, self.channels))
        self._envelope = np.zeros(self.timing.history, np.float32)  # of _buffer; its last span samples are redone
        self._pending = 0  # input frames received but not yet output

    @property
    def latency(self) -> int:
        return self.timing.latency

    def process(self, block: np.ndarray) -> np.ndarray:
        return self._limit(self.pre_loudness(block) * self.gain)

    def flush(self) -> np.ndarray:
        out = self._limit(np.zeros((self.latency, self.channels)))
        return out[: self._pending] if self._pending > 0 else out[:0]

    def _limit(self, block: np.ndarray) -> np.ndarray:
        buffer = np.concatenate([self._buffer, block])
        self._pending += len(block)
        start = self.timing.history  # first not-yet-output frame in buffer coordinates
        ready = max(0, len(buffer) - self.latency - start)
        ready = min(ready, self._pending)
        envelope = self._extend_envelope(buffer)
        gain = limiter_gain(envelope, 1.0, self.ceiling, self.timing)
        out = buffer[start : start + ready] * gain[start : start + ready, None]
        self._pending -= ready
        self._buffer = buffer[ready:]
        self._envelope = envelope[ready:]
        return out.astype(np.float32)

    def _extend_envelope(self, buffer: np.ndarray) -> np.ndarray:
        """The envelope of ``buffer``, reusing the part of the previous one the new frames can't change.

        An envelope value depends on the samples up to ``_INTERPOLATION_SPAN`` on each side, so only
        the last span of the old buffer is recomputed (with a span of context before it).
        """
        redo = max(0, len(self._buffer) - _INTERPOLATION_SPAN)
        context = max(0, redo - _INTERPOLATION_SPAN)
        fresh = true_peak_envelope(buffer[context:], self.rate, self.ceiling)[redo - context :]
        return np.concatenate([self._envelope[:redo], fresh])


@dataclass(frozen=True)
class MasterReport:
    """What the chain did to one track."""

    type: str
    parameters: dict[str, float]
    lufs_in: float
    lufs_out: float
    true_peak_out_dbtp: float
    gain_db: float
    max_reduction_db: float
    target_reached: bool

    def as_dict(self) -> dict:
        return asdict(self)


def master(samples: np.ndarray, rate: int, params: MasterParams, kind: str = "") -> tuple[np.ndarray, MasterReport]:
    """Render ``samples`` through the chain; returns float32 audio and a :class:`MasterReport`."""
    samples = to_stereo(samples) if samples.shape[1] > 2 else samples  # a surround file is mastered folded
    lufs_in = loudness.playback_loudness(samples, rate)  # of what is mastered and heard
    shaped = _shape(samples, params, rate)
    lufs_shaped = loudness.playback_loudness(shaped, rate)
    timing = LimiterTiming.at(rate)
    ceiling = 10.0 ** ((params.ceiling_dbtp - SAFETY_DB) / 20.0)
    gain_db = loudness_gain_db(lufs_shaped, params)
    exact_to_db = gain_db + ENVELOPE_SLACK_DB  # the envelope is exact wherever this gain could limit
    loudest = float(np.abs(shaped).max(initial=0.0))
    exact_above = _exact_level(ceiling, exact_to_db, loudest)
    envelope = true_peak_envelope(shaped, rate, exact_above)
    out, lufs_out, reduction, curve = _limit_to(shaped, envelope, gain_db, ceiling, timing, rate, lufs_shaped)
    for _ in range(3):  # the limiter costs loudness on dense material: win it back
        missing = params.target_lufs - lufs_out
        if lufs_shaped <= loudness.FLOOR_LUFS or abs(missing) <= LOUDNESS_TOLERANCE_LU:
            break
        if gain_db >= params.max_gain_db or missing > 12.0:
            break
        gain_db = min(gain_db + missing, params.max_gain_db)
        if gain_db > exact_to_db:
            exact_to_db = gain_db + ENVELOPE_SLACK_DB
            exact_above = _exact_level(ceiling, exact_to_db, loudest)
            envelope = true_peak_envelope(shaped, rate, exact_above)
        out, lufs_out, reduction, curve = _limit_to(shaped, envelope, gain_db, ceiling, timing, rate, lufs_shaped)
    gain = 10.0 ** (gain_db / 20.0)
    tp_out = _output_true_peak(out, envelope, gain, curve, gain * exact_above, rate)
    if tp_out > params.ceiling_dbtp:  # last resort; keeps the ceiling promise absolute
        out *= np.float32(10.0 ** ((params.ceiling_dbtp - SAFETY_DB - tp_out) / 20.0))
        lufs_out = loudness.playback_loudness(out, rate)
        tp_out = loudness.true_peak(out, rate)
    report = MasterReport(
        type=kind,
        parameters=params.as_dict(),
        lufs_in=lufs_in,
        lufs_out=lufs_out,
        true_peak_out_dbtp=tp_out,
        gain_db=gain_db,
        max_reduction_db=reduction,
        target_reached=lufs_shaped > loudness.FLOOR_LUFS and abs(lufs_out - params.target_lufs) <= 0.5,
    )
    return out, report


def _exact_level(ceiling: float, exact_to_db: float, loudest: float) -> float:
    """Level of the shaped signal above which its true-peak envelope is made exact: wherever a
    gain of ``exact_to_db`` could reach the ``ceiling``, and at least wherever the signal could
    exceed its ``loudest`` sample — so an output the limiter never touched has its true peak read
    off the envelope, not measured again."""
    return max(min(ceiling / 10.0 ** (exact_to_db / 20.0), loudest), 1e-30)


def loudness_gain_db(lufs: float, params: MasterParams) -> float:
    """Gain that brings ``lufs`` to the target, capped at ``max_gain_db``; 0 for silence."""
    if lufs <= loudness.FLOOR_LUFS:
        return 0.0
    return min(params.target_lufs - lufs, params.max_gain_db)


def _limit_to(shaped, envelope, gain_db, ceiling, timing, rate, lufs_shaped) -> tuple[np.ndarray, float, float, Any]:
    """Apply gain and limiter; returns audio, its loudness, the deepest gain reduction (dB) and the
    limiter's gain curve."""
    gain = 10.0 ** (gain_db / 20.0)
    curve = limiter_gain(envelope, gain, ceiling, timing)
    deepest = float(curve.min()) if len(curve) else 1.0
    if deepest >= 1.0:  # limiter idle: loudness scales exactly with the gain
        lufs = lufs_shaped + gain_db if lufs_shaped > loudness.FLOOR_LUFS else loudness.FLOOR_LUFS
        return shaped * np.float32(gain), lufs, 0.0, curve
    out = shaped * (gain * curve).astype(np.float32)[:, None]
    return out, loudness.playback_loudness(out, rate), -20.0 * float(np.log10(max(deepest, 1e-10))), curve


def _output_true_peak(out, envelope, gain, curve, exact_from, rate) -> float:
    """True peak (dBTP) of ``out = shaped·gain·curve`` without measuring all of it again.

    Wherever the limiter leaves the whole interpolation window at unity, ``out``'s envelope is
    ``gain × envelope`` (exact above ``exact_from``); the stretches it touches are measured on
    ``out``. Output that never reaches ``exact_from`` is measured in full.
    """
    reach = _INTERPOLATION_SPAN
    if float(curve.min(initial=1.0)) >= 1.0:  # the limiter never acted
        peak = gain * float(envelope.max(initial=0.0))
        return loudness.amplitude_to_db(peak) if peak >= exact_from else loudness.true_peak(out, rate)
    limited = np.concatenate([np.zeros(reach + 1, np.int64), np.cumsum(curve < 1.0), np.full(reach, -1)])
    limited[-reach:] = limited[-reach - 1]
    touched = limited[2 * reach + 1 :] > limited[: len(curve)]  # a limited sample within ±reach
    peak = gain * float(envelope[~touched].max(initial=0.0))
    if peak < exact_from:
        return loudness.true_peak(out, rate)
    edges = np.flatnonzero(np.diff(np.concatenate([[0], touched.astype(np.int8), [0]]))).reshape(-1, 2)
    for start, stop in edges:
        lo, hi = max(0, start - reach), min(len(out), stop + reach)
        measured = true_peak_envelope(out[lo:hi], rate, peak)[start - lo : stop - lo]
        peak = max(peak, float(measured.max(initial=0.0)))
    return loudness.amplitude_to_db(peak)


LOSSY_SUFFIXES = (".ogg", ".opus", ".mp3")
CODEC_PASSES = 4  # encode → decode → measure rounds before giving up on a lossy file


def write_render(path: str | Path, out: np.ndarray, rate: int, report: MasterReport) -> MasterReport:
    """Write a render; returns the report of what the file holds.

    PCM files (24-bit) hold the render itself. A lossy codec reshapes the waveform (its
    filter bank and quantisation can lift peaks above the PCM it was given: +0.2 dB seen on
    Opus at the −1 dBTP aim), so a lossy file is decoded and measured as a player would play
    it, and re-encoded quieter by the overshoot until it holds the ceiling.
    """
    audio.write(path, out, rate)
    if Path(path).suffix.lower() not in LOSSY_SUFFIXES:
        return report
    ceiling = report.parameters["ceiling_dbtp"]
    trim_db = 0.0
    for attempt in range(CODEC_PASSES):
        decoded = audio.decode(path)
        peak = loudness.true_peak(decoded.samples, decoded.rate)
        if peak <= ceiling or attempt == CODEC_PASSES - 1:
            break
        trim_db += ceiling - SAFETY_DB - peak
        audio.write(path, out * np.float32(10.0 ** (trim_db / 20.0)), rate)
    trimmed = {"lufs_out": report.lufs_out + trim_db, "gain_db": report.gain_db + trim_db}
    return replace(report, true_peak_out_dbtp=peak, **trimmed)
