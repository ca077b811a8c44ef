"""Library benchmark: tag-scan rate, unchanged rescan, analysis scaling, peak memory.

    python bench/library.py [--files 10000]

Files are generated: one tagged 16-bit FLAC of 0.5 s copied to N paths in artist/album folders
(tag reading cost does not depend on the audio). Every figure is measured in this run.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path[0] = str(Path(__file__).resolve().parents[1])  # bench/engine.py must not shadow the engine package

import numpy as np
from mutagen.flac import FLAC

from auralis_tui.library import scan
from auralis_tui.synth import CHARACTERS, render
from engine import audio


def make_library(root: Path, files: int, seconds: float = 0.5) -> None:
    root.mkdir(parents=True)
    template = root / "template.flac"
    audio.write(template, render(CHARACTERS["studio"], seconds, 44100, seed=1), 44100)
    tags = FLAC(template)
    tags.update({"artist": "Bench", "album": "Numbers", "title": "Track", "tracknumber": "1", "date": "2020"})
    tags.save()
    data = template.read_bytes()
    template.unlink()
    for i in range(files):
        folder = root / f"artist{i // 500:03d}" / f"album{i // 10:05d}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{i % 10:02d} track{i}.flac").write_bytes(data)


def tag_scan_figures(files: int, folder: Path) -> dict[str, float]:
    root, home = folder / "music", folder / "home"
    make_library(root, files)
    start = time.perf_counter()
    first = scan(home, root, analyse=False)
    first_s = time.perf_counter() - start
    start = time.perf_counter()
    again = scan(home, root, analyse=False)
    rescan_s = time.perf_counter() - start
    assert first.new == files and again.unchanged == files
    return {"files": files, "tag_rate": files / first_s, "rescan_s": rescan_s}


def analysis_figures(folder: Path, files: int = 192) -> dict[str, object]:
    """Analysis throughput with one and two worker processes on one-minute tracks."""
    root = folder / "analyse"
    root.mkdir()
    template = root / "000.flac"
    audio.write(template, render(CHARACTERS["live"], 60, 44100, seed=1), 44100)
    for i in range(1, files):
        shutil.copyfile(template, root / f"{i:03d}.flac")
    rates = {}
    for jobs in (1, 2):
        home = folder / f"home-jobs{jobs}"
        scan(home, root, analyse=False)  # tags first: the figure is about the analysis pool
        start = time.perf_counter()
        summary = scan(home, root, jobs=jobs, progress_stream=io.StringIO())
        rates[jobs] = summary.analysed / (time.perf_counter() - start)
    return {"analysis_rate_1": rates[1], "analysis_rate_2": rates[2], "track": template}


_FINGERPRINT_LOOP = """
import sys, time
from engine import audio
from engine.fingerprint import fingerprint
begin, end, path = float(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
while time.time() < begin:
    time.sleep(0.001)
count = 0
while time.time() < end:
    decoded = audio.decode(path)
    fingerprint(decoded.samples, decoded.rate)
    count += 1
print(count / (time.time() - begin))
"""


def parallel_ceiling(track: Path) -> dict[str, float]:
    """Files per second of one single-threaded process that decodes, then fingerprints ``track``
    again and again (one core's worth: the baseline of the pool's figure), and of two such
    independent processes (the ceiling for any pool on this machine: shared caches, memory
    bandwidth, a busy host)."""
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[1])

    def run(copies: int) -> float:
        """Files per second of ``copies`` processes working in the same 8 s window."""
        begin = time.time() + 2.0  # after imports
        command = [sys.executable, "-c", _FINGERPRINT_LOOP, str(begin), str(begin + 8.0), str(track)]
        procs = [subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env) for _ in range(copies)]
        return sum(float(p.communicate()[0]) for p in procs)

    alone, together = run(1), run(2)
    return {"one_core_rate": alone, "ceiling": together / alone}


def memory_figures(files: int, folder: Path) -> dict[str, float]:
    """Peak RSS of a fresh `auralis scan` process (tags + analysis) and of its largest worker."""
    root = folder / "music"
    home = folder / "home-memory"
    code = (
        "import resource, subprocess, sys, json\n"
        f"r = subprocess.run([sys.executable, '-m', 'auralis_tui', '--home', {str(home)!r}, 'scan', {str(root)!r},"
        " '--jobs', '2'], capture_output=True)\n"
        "assert r.returncode == 0, r.stderr\n"
        "print(json.dumps({'children_max_kb': resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}))\n"
    )
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    elapsed = time.perf_counter() - start
    peak_kb = json.loads(out)["children_max_kb"]
    return {"scan_peak_mb": peak_kb / 1024, "full_scan_s": elapsed, "full_scan_rate": files / elapsed}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=10_000)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="auralis-bench-"))
    try:
        figures = tag_scan_figures(args.files, folder)
        figures |= analysis_figures(folder)
        figures |= parallel_ceiling(figures["track"])
        figures |= memory_figures(args.files, folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print(f"tag scan                 {figures['tag_rate']:8.0f} files/s        target >= 1000 files/s")
    print(f"rescan {figures['files']} unchanged {figures['rescan_s']:8.2f} s              target <= 2 s")
    one_core = figures["one_core_rate"]
    print(
        f"analysis --jobs 2 / one core {figures['analysis_rate_2'] / one_core:6.2f}x              target >= 1.8x"
        f"  ({figures['analysis_rate_2']:.1f} vs {one_core:.1f} files/s: one process decoding, then fingerprinting)"
    )
    print(
        f"  two independent processes {figures['ceiling']:5.2f}x  (this machine's ceiling; the pool reaches "
        f"{figures['analysis_rate_2'] / one_core / figures['ceiling']:.0%} of it)"
    )
    print(
        f"  --jobs 1 {figures['analysis_rate_1'] / one_core:5.2f}x  ({figures['analysis_rate_1']:.1f} files/s: a worker"
        " decodes on a second thread while it analyses)"
    )
    print(
        f"peak memory, full scan   {figures['scan_peak_mb']:8.0f} MB             target < 300 MB"
        f"  ({figures['files']} files incl. analysis in {figures['full_scan_s']:.0f} s)"
    )


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
