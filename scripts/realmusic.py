"""Build the real-music corpus: freely licensed game soundtracks from Debian, plus derived versions.

    python scripts/realmusic.py [--cache DIR] [--limit N]
    python scripts/realmusic.py --subset      # only the package the test suite uses

Originals come from Debian packages whose music is freely licensed (GPL-2+ / CC-BY-SA):
wesnoth-1.16-music (orchestral OGG), lincity-ng-data (OGG), neverball-data (OGG). They are
fetched with ``apt-get download`` and unpacked with ``dpkg-deb -x`` into the cache — by default
``~/.cache/auralis/realmusic`` (or ``$AURALIS_REALMUSIC``), never into the repository.

From the first 60 s of every original three versions with known ground truth are derived
(FLAC, 44.1 kHz, in ``derived/<kind>/``):

* ``bootleg``: an audience recording — near-mono, band-limited to 150–3400 Hz, crowd noise,
  hiss, 10 dB quieter;
* ``vintage``: mono, band-limited to 90–5000 Hz, tape hiss (a mono file);
* ``live``: a wide room — decorrelated 1.8 s reverb and crowd noise on each side, full band.

For tempo, ``drummed`` mixes drums of known tempo under music (not written to the cache: the
benchmark mixes them in memory): kick and snare alternating on the quarter notes, a hi-hat on
every eighth, the drums' RMS half the music's (6 dB under it). Original number ``i`` of a
listing gets ``drum_bpm(i)`` = 70 + 29·i mod 111 BPM (70–180, spread over the corpus).

``corpus(cache)`` lists ``(kind, path)`` with kind ``original`` for the sources.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy import signal

PACKAGES = ("wesnoth-1.16-music", "lincity-ng-data", "neverball-data")
SUBSET_PACKAGE = "lincity-ng-data"  # the small real subset the test suite runs (45 MB)
AUDIO_SUFFIXES = (".ogg", ".mp3", ".flac", ".wav")
MIN_SECONDS = 30.0
DERIVED_SECONDS = 60.0
DERIVED_RATE = 44100
KINDS = ("bootleg", "vintage", "live")


def default_cache() -> Path:
    return Path(os.environ.get("AURALIS_REALMUSIC", Path.home() / ".cache" / "auralis" / "realmusic"))


class FetchError(RuntimeError):
    """A package could not be downloaded or unpacked (the message says which and why)."""


def fetch(cache: Path, packages: tuple[str, ...] = PACKAGES) -> None:
    """Download and unpack the packages (skipped for those already unpacked)."""
    debs, unpacked = cache / "debs", cache / "unpacked"
    debs.mkdir(parents=True, exist_ok=True)
    for package in packages:
        target = unpacked / package
        if target.is_dir():
            continue
        if not list(debs.glob(f"{package}_*.deb")):
            _download(package, debs)
        (deb,) = debs.glob(f"{package}_*.deb")
        partial = unpacked / f".{package}.partial"
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        subprocess.run(["dpkg-deb", "-x", str(deb), str(partial)], check=True)
        partial.rename(target)


def _download(package: str, folder: Path) -> None:
    """``apt-get download``; as root with empty package lists, ``apt-get update`` once and retry."""
    command = ["apt-get", "download", package]
    try:
        result = subprocess.run(command, cwd=folder, capture_output=True, text=True)
        if result.returncode and os.geteuid() == 0:
            subprocess.run(["apt-get", "update", "-qq"], capture_output=True)
            result = subprocess.run(command, cwd=folder, capture_output=True, text=True)
    except FileNotFoundError:
        raise FetchError(f"cannot fetch {package}: apt-get is not installed (Debian/Ubuntu needed)") from None
    if result.returncode:
        reason = (result.stderr.strip().splitlines() or ["no output"])[-1]
        raise FetchError(f"cannot fetch {package} with apt-get download: {reason}")


def originals(cache: Path, limit: int | None = None) -> list[Path]:
    """Music files of at least 30 s in the unpacked packages, sorted; every ``k``-th up to ``limit``."""
    found = []
    for path in sorted((cache / "unpacked").rglob("*")):
        if path.suffix.lower() in AUDIO_SUFFIXES and "/sounds/" not in str(path) and path.is_file():
            info = sf.info(str(path))
            if info.frames / info.samplerate >= MIN_SECONDS:
                found.append(path)
    if limit and len(found) > limit:
        step = len(found) / limit
        found = [found[int(i * step)] for i in range(limit)]
    return found


def _excerpt(path: Path) -> np.ndarray:
    """The first 60 s as float64 stereo at 44.1 kHz."""
    data, rate = sf.read(str(path), dtype="float64", always_2d=True, frames=int(DERIVED_SECONDS * 48000))
    data = data[: int(DERIVED_SECONDS * rate)]
    if data.shape[1] == 1:
        data = np.repeat(data, 2, axis=1)
    data = data[:, :2]
    if rate != DERIVED_RATE:
        data = signal.resample_poly(data, DERIVED_RATE, rate, axis=0)
    return data


def _band(x: np.ndarray, low: float, high: float) -> np.ndarray:
    sos = signal.butter(4, [low, high], "bandpass", fs=DERIVED_RATE, output="sos")
    return signal.sosfilt(sos, x, axis=0)


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(x**2)))


def _crowd(frames: int, rng: np.random.Generator) -> np.ndarray:
    """Murmur: band-passed noise with a slow random level (two independent channels)."""
    noise = _band(rng.standard_normal((frames, 2)), 300, 3000)
    level = np.repeat(rng.uniform(0.3, 1.0, (frames // 4410 + 1, 2)), 4410, axis=0)[:frames]
    return noise * signal.sosfiltfilt(signal.butter(1, 2, fs=DERIVED_RATE, output="sos"), level, axis=0)


def bootleg(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    mid = x.mean(axis=1, keepdims=True)
    y = _band(0.9 * mid + 0.1 * x, 150, 3400)
    y = y + 0.3 * _rms(y) / _rms(c := _crowd(len(y), rng)) * c + 0.01 * _rms(y) * rng.standard_normal(y.shape)
    return 10 ** (-10 / 20) * y / max(1.0, np.abs(y).max() / 0.9)


def vintage(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    y = _band(x.mean(axis=1, keepdims=True), 90, 5000)
    y = y + 0.02 * _rms(y) * rng.standard_normal(y.shape)
    return y / max(1.0, np.abs(y).max() / 0.9)


def live(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    tail = np.arange(int(1.8 * DERIVED_RATE)) / DERIVED_RATE
    decay = np.exp(-6.9 * tail / 1.8)  # −60 dB at 1.8 s
    wet = np.stack(
        [signal.fftconvolve(x[:, ch], rng.standard_normal(len(tail)) * decay)[: len(x)] for ch in range(2)], axis=1
    )
    y = x + 0.8 * _rms(x) / _rms(wet) * wet
    y = y + 0.15 * _rms(y) / _rms(c := _crowd(len(y), rng)) * c
    return y / max(1.0, np.abs(y).max() / 0.9)


DERIVATIONS = {"bootleg": bootleg, "vintage": vintage, "live": live}


def drum_bpm(index: int) -> int:
    """The tempo of the drums mixed under original number ``index``: 70–180 BPM."""
    return 70 + (index * 29) % 111


def drum_pattern(bpm: float, frames: int, rate: int, rng: np.random.Generator) -> np.ndarray:
    """Mono drums: a 50–110 Hz kick and a noise snare alternating on the quarter notes, a
    differentiated-noise hi-hat (bright, 10 ms decay) on every eighth."""
    t = np.arange(int(0.15 * rate)) / rate
    kick = np.sin(2 * np.pi * (50 + 60 * np.exp(-t / 0.03)) * t) * np.exp(-t / 0.08)
    snare = 0.7 * rng.standard_normal(len(t)) * np.exp(-t / 0.05)
    hat = rng.standard_normal(int(0.03 * rate))
    hat = 0.3 * np.diff(hat, prepend=0) * np.exp(-np.arange(len(hat)) / (0.01 * rate))
    out = np.zeros(frames)
    for eighth, start in enumerate((np.arange(0, frames / rate, 30.0 / bpm) * rate).astype(int)):
        hits = (hat,) if eighth % 2 else (hat, kick if eighth % 4 == 0 else snare)
        for hit in hits:
            end = min(frames, start + len(hit))
            out[start:end] += hit[: end - start]
    return out


def drummed(x: np.ndarray, rate: int, bpm: float, seed: int) -> np.ndarray:
    """``x`` (frames × channels) with ``drum_pattern`` at ``bpm`` mixed 6 dB under it, float32."""
    drums = drum_pattern(bpm, len(x), rate, np.random.default_rng(seed))
    drums *= 0.5 * _rms(x) / _rms(drums)
    return (x + drums[:, None]).astype(np.float32)


def derive(cache: Path, sources: list[Path]) -> None:
    """Write the derived versions that are missing."""
    for index, source in enumerate(sources):
        excerpt = None
        for kind, make in DERIVATIONS.items():
            target = cache / "derived" / kind / f"{source.stem}.flac"
            if target.exists():
                continue
            excerpt = _excerpt(source) if excerpt is None else excerpt
            target.parent.mkdir(parents=True, exist_ok=True)
            out = make(excerpt, np.random.default_rng(index))
            partial = target.with_name(f".{target.name}.partial")
            sf.write(str(partial), out.astype(np.float32), DERIVED_RATE, format="FLAC", subtype="PCM_16")
            partial.rename(target)


def corpus(cache: Path | None = None, limit: int | None = None) -> list[tuple[str, Path]]:
    """Fetch, unpack and derive as needed; ``(kind, path)`` for every original and derived file."""
    cache = cache or default_cache()
    fetch(cache)
    sources = originals(cache, limit)
    derive(cache, sources)
    listing = [("original", path) for path in sources]
    for kind in KINDS:
        listing += [(kind, cache / "derived" / kind / f"{path.stem}.flac") for path in sources]
    return listing


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=None)
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--subset", action="store_true", help=f"only fetch {SUBSET_PACKAGE} (the tests' subset)")
    args = parser.parse_args()
    if args.subset:
        try:
            fetch(args.cache or default_cache(), (SUBSET_PACKAGE,))
        except FetchError as exc:
            raise SystemExit(f"realmusic: {exc}") from None
        return
    for kind, path in corpus(args.cache, args.limit):
        print(f"{kind}\t{path}")
    print(f"cache: {args.cache or default_cache()}", file=sys.stderr)


if __name__ == "__main__":
    main()
