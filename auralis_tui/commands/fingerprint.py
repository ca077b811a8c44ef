"""``auralis fingerprint FILE``: the 25-D fingerprint, detected type and confidence of a file."""

from __future__ import annotations

import argparse

from ..formats import printable
from .common import add_command, print_json

#: Fingerprint features grouped for display, with their units.
FEATURE_GROUPS: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = (
    (
        "frequency (energy share)",
        tuple((n, "") for n in ("sub_bass", "bass", "low_mid", "mid", "upper_mid", "presence", "air")),
    ),
    ("dynamics", (("lufs", "LUFS"), ("crest_db", "dB"), ("bass_mid_ratio_db", "dB"))),
    ("temporal", (("tempo_bpm", "BPM"), ("rhythm_stability", ""), ("transient_density", "/s"), ("silence_ratio", ""))),
    ("spectral", (("spectral_centroid_hz", "Hz"), ("spectral_rolloff_hz", "Hz"), ("spectral_flatness", ""))),
    ("harmonic", (("harmonic_ratio", ""), ("pitch_stability", ""), ("chroma_energy", ""))),
    ("variation", (("dynamic_range_variation_db", "dB"), ("loudness_variation_lu", "LU"), ("peak_consistency", ""))),
    ("stereo", (("stereo_width", ""), ("phase_correlation", ""))),
)


def register(commands: argparse._SubParsersAction) -> None:
    fp = add_command(commands, "fingerprint", help="25-D fingerprint, detected type and confidence of a file")
    fp.add_argument("file", help="audio file (FLAC, WAV, AIFF, OGG, Opus, MP3)")
    fp.add_argument("--json", action="store_true", help="machine-readable output")
    fp.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from engine.audio import BackgroundDecode

    from ..inputs import readable_file
    from ..tuning import keep_freed_memory

    keep_freed_memory()
    decoding = BackgroundDecode(readable_file(args.file))  # decodes while the analysis modules import
    from ..analysis import analyze_file

    result = analyze_file(args.file, decoding=decoding)
    if args.json:
        print_json(result.as_dict())
        return 0
    values = result.fingerprint.as_dict()
    print(f"{printable(result.path.name)}  {result.rate} Hz  {result.channels} ch  {result.duration:.1f} s")
    for group, features in FEATURE_GROUPS:
        print(f"  {group}")
        for name, unit in features:
            print(f"    {name:28s} {values[name]:12.4f} {unit}")
    det = result.detection
    print(f"type: {det.type}  confidence {det.confidence:.2f}  (best match {det.best_profile})")
    if det.evidence:
        print(f"  matched: {', '.join(det.matched()) or '-'}")
        print(f"  missed:  {', '.join(det.missed()) or '-'}")
    return 0
