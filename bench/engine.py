"""Engine benchmark: every figure is a ratio measured in this one run, on one core.

    python bench/engine.py [--minutes 4]

* fingerprint speed: real-time factor (decode included) and compute ÷ decode on a 16-bit FLAC
  of synthesized music, 44.1 kHz stereo; and the wall time of decode + fingerprint one after the
  other against the fingerprint taken while a thread decodes (two cores, so wall clock);
* offline mastering: real-time factor on the same decoded track;
* streaming chain: processing time ÷ block duration for 2048-frame blocks at 48 kHz stereo;
* promises: share of rendered outputs with true peak ≤ ceiling and loudness within ±0.5 LU.

Times are this process's CPU time (``time.process_time``; BLAS pinned to one thread), so a
machine shared with other work slows the wall clock but not the figures.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"  # one core, as the targets say

import argparse
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

sys.path[0] = str(Path(__file__).resolve().parents[1])  # bench/engine.py must not shadow the engine package

import numpy as np

from auralis_tui.synth import CHARACTERS, render
from engine import audio, loudness
from engine.fingerprint import fingerprint, fingerprint_decoding
from engine.master import StreamingMaster, master
from engine.model import load_profiles


def best_of(runs: int, fn, *args):
    times, result = [], None
    for _ in range(runs):
        start = time.process_time()
        result = fn(*args)
        times.append(time.process_time() - start)
    return statistics.median(times), result


def long_track(minutes: float, rate: int = 44100) -> np.ndarray:
    """A track of ``minutes`` built from 30 s synthesized sections of different characters."""
    names = ["studio_hd_bright", "studio", "metal", "live"]
    sections = [render(CHARACTERS[names[i % 4]], 30, rate, seed=i) for i in range(int(np.ceil(minutes * 2)))]
    return np.concatenate(sections)[: int(minutes * 60 * rate)]


def fingerprint_figures(track: np.ndarray, rate: int, folder: Path) -> dict[str, float]:
    path = folder / "bench.flac"
    import soundfile as sf

    sf.write(path, track, rate, subtype="PCM_16")
    decode_times, compute_times = [], []
    for _ in range(7):  # alternate, so drift in machine load hits both sides alike
        seconds_taken, decoded = best_of(1, audio.decode, path)
        decode_times.append(seconds_taken)
        compute_times.append(best_of(1, fingerprint, decoded.samples, decoded.rate)[0])
    decode_s, compute_s = statistics.median(decode_times), statistics.median(compute_times)
    seconds = len(track) / rate
    return {
        "decode_s": decode_s,
        "fingerprint_s": compute_s,
        "fingerprint_rt": seconds / (decode_s + compute_s),
        "fingerprint_over_decode": compute_s / decode_s,
    } | overlap_figures(path)


def overlap_figures(path: Path) -> dict[str, float]:
    """Wall time of decode + fingerprint one after the other, and with the fingerprint taken while a
    thread decodes (what ``auralis fingerprint`` does; it needs a free second core to pay)."""
    sequential, overlapped = [], []
    for _ in range(5):
        start = time.perf_counter()
        decoded = audio.decode(path)
        fingerprint(decoded.samples, decoded.rate)
        sequential.append(time.perf_counter() - start)
        start = time.perf_counter()
        fingerprint_decoding(audio.BackgroundDecode(path))
        overlapped.append(time.perf_counter() - start)
    return {"sequential_wall_s": statistics.median(sequential), "overlapped_wall_s": statistics.median(overlapped)}


def mastering_figures(track: np.ndarray, rate: int) -> dict[str, float]:
    params = load_profiles()["studio"].master
    master_s, _ = best_of(3, master, track, rate, params)
    return {"master_s": master_s, "master_rt": len(track) / rate / master_s}


def streaming_figures() -> dict[str, float]:
    rate, block = 48000, 2048
    x = render(CHARACTERS["live"], 30, rate, seed=3)
    params = replace(load_profiles()["metal"].master, target_lufs=-8.0)
    _, report = master(x, rate, params)
    stream = StreamingMaster(params, rate, 2, report.gain_db)
    per_block = []
    for start in range(0, len(x) - block, block):
        begin = time.process_time()
        stream.process(x[start : start + block])
        per_block.append(time.process_time() - begin)
    budget = block / rate
    return {
        "stream_block_ms": 1000 * statistics.median(per_block),
        "stream_load": statistics.median(per_block) / budget,
        "stream_load_p99": float(np.percentile(per_block, 99)) / budget,
    }


def promise_figures() -> dict[str, float]:
    profiles = load_profiles()
    within_ceiling = within_target = total = 0
    for name, character in CHARACTERS.items():
        for rate, seed in ((44100, 1), (48000, 2), (96000, 3)):
            for kind in (name, "metal", "bootleg"):  # the matching profile and two extreme ones
                x = render(replace(character, key_hz=character.key_hz * (1 + 0.02 * seed)), 8, rate, seed=seed)
                params = profiles[kind].master
                out, _ = master(x, rate, params, kind)
                total += 1
                within_ceiling += loudness.true_peak(out, rate) <= params.ceiling_dbtp
                within_target += abs(loudness.playback_loudness(out, rate) - params.target_lufs) <= 0.5
    return {"renders": total, "ceiling_ok": within_ceiling / total, "loudness_ok": within_target / total}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=4.0)
    args = parser.parse_args()
    rate = 44100
    print(f"building a {args.minutes:g}-minute 44.1 kHz stereo track …", file=sys.stderr)
    track = long_track(args.minutes, rate)
    with tempfile.TemporaryDirectory() as folder:
        figures = fingerprint_figures(track, rate, Path(folder))
    figures |= mastering_figures(track, rate)
    figures |= streaming_figures()
    figures |= promise_figures()
    print(f"fingerprint (decode incl.) {figures['fingerprint_rt']:7.0f}x real time   target >= 150x")
    print(f"fingerprint / decode       {figures['fingerprint_over_decode']:7.2f}            target <= 1.2")
    print(f"   decode {figures['decode_s']:.3f} s, fingerprint {figures['fingerprint_s']:.3f} s")
    print(f"   wall: decode then fingerprint {figures['sequential_wall_s']:.3f} s, fingerprint while decoding "
          f"{figures['overlapped_wall_s']:.3f} s (load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")
    print(f"offline mastering          {figures['master_rt']:7.0f}x real time   target >= 100x")
    print(f"streaming chain            {100 * figures['stream_load']:7.2f} % of block    target <= 5 %")
    print(f"   p99 {100 * figures['stream_load_p99']:.2f} %, median {figures['stream_block_ms']:.2f} ms / 2048 frames")
    renders = figures["renders"]
    print(f"true peak <= ceiling       {100 * figures['ceiling_ok']:7.1f} % of {renders} renders  target 100 %")
    print(f"loudness within 0.5 LU     {100 * figures['loudness_ok']:7.1f} % of {renders} renders  target 100 %")


if __name__ == "__main__":
    main()
