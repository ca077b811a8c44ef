"""Analysis services shared by the CLI, the library scanner and the UI: decode a file,
fingerprint it, detect its type, and master it with its profile."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from engine import audio
from engine.detect import Detection, detect
from engine.errors import AudioError
from engine.fingerprint import FINGERPRINT_VERSION, Fingerprint, fingerprint, fingerprint_decoding
from engine.master import MasterReport, master, write_render
from engine.model import Profile, ProfileError, load_profiles

from .inputs import readable_file


@dataclass(frozen=True)
class Analysis:
    """Everything the engine says about one file."""

    path: Path
    rate: int
    channels: int
    duration: float
    fingerprint: Fingerprint
    detection: Detection

    def as_dict(self) -> dict:
        det = self.detection
        return {
            "file": str(self.path),
            "rate": self.rate,
            "channels": self.channels,
            "duration": round(self.duration, 3),
            "fingerprint_version": FINGERPRINT_VERSION,
            "fingerprint": self.fingerprint.as_dict(),
            "detection": {
                "type": det.type,
                "confidence": det.confidence,
                "best_profile": det.best_profile,
                "scores": det.scores,
                "matched": det.matched() if det.evidence else [],
                "missed": det.missed() if det.evidence else [],
                "rules": det.rules() if det.evidence else {"matched": [], "missed": []},
                "reason": det.reason,
            },
        }


MIN_RATE = 4000  # Hz: below this there is no music to fingerprint (and the meters lose their meaning)


def readable_audio(path: str | Path) -> audio.AudioInfo:
    """The header of ``path`` when it is a readable audio file at a sane sample rate; otherwise
    ``AudioError`` naming the real cause (see :func:`inputs.readable_file`; not audio; a rate
    under ``MIN_RATE``)."""
    readable_file(path)
    header = audio.info(path)
    if header.rate < MIN_RATE:
        raise AudioError(path, f"sample rate {header.rate} Hz is below {MIN_RATE} Hz: too low to analyse or master")
    return header


def analyze_file(
    path: str | Path, profiles: Mapping[str, Profile] | None = None, decoding: audio.BackgroundDecode | None = None
) -> Analysis:
    """Decode, fingerprint and classify one file (raises ``AudioError`` with a clear reason).

    The fingerprint is taken while the file decodes, on a second core (``decoding``: a decode the
    caller started early, e.g. before importing this module)."""
    try:
        readable_audio(path)
    except AudioError:
        if decoding is not None:
            decoding.close()
        raise
    decoding = decoding or audio.BackgroundDecode(path)
    fp = fingerprint_decoding(decoding)
    decoded = decoding.result()
    return Analysis(
        Path(path), decoded.rate, decoded.channels, decoded.duration, fp, detect(fp, profiles or load_profiles())
    )


def master_file(
    source: str | Path, target: str | Path, kind: str | None = None, profiles: Mapping[str, Profile] | None = None
) -> tuple[MasterReport, Detection | None]:
    """Master ``source`` into ``target`` with the profile of ``kind`` (detected when omitted)."""
    profiles = profiles or load_profiles()
    if kind is not None and kind not in profiles:
        raise ProfileError(f"unknown type '{kind}' (known: {', '.join(sorted(profiles))})")
    readable_audio(source)
    decoded = audio.decode(source)
    detection = None
    if kind is None:
        detection = detect(fingerprint(decoded.samples, decoded.rate), profiles)
        kind = detection.type
    rendered, report = master(decoded.samples, decoded.rate, profiles[kind].master, kind)
    return write_render(target, rendered, decoded.rate, report), detection
