"""Anonymized export of the feedback: what may leave the machine, and nothing more."""

from __future__ import annotations

import json
from pathlib import Path

from . import feedback, patterns
from .feedback import parse_timestamp
from .paths import refuse_overwrite
from .versioned import write_atomic_stream

EXPORT_FORMAT = "auralis-anonymized-feedback"


def anonymize(event: dict) -> dict:
    """Keep what describes sound and taste; drop paths, names, comments, ids and exact times.

    Comments become their keyword directions ("bass_db+"); time becomes the month; the
    fingerprint is rounded to 3 significant digits.
    """
    fix = event.get("fix") or {}
    return {
        "month": parse_timestamp(event["timestamp"]).strftime("%Y-%m"),
        "event": event["event"],
        "type": event.get("detected_type"),
        "confidence": round(float(event.get("confidence") or 0.0), 2),
        "rating": event.get("rating"),
        "wants": sorted(
            {patterns.key_label(m.parameter, m.direction) for m in patterns.find_mentions(event.get("comment") or "")}
        ),
        "profile": (event.get("profile") or {}).get("name"),
        "profile_version": (event.get("profile") or {}).get("version"),
        "parameters_applied": event.get("parameters_applied") or {},
        "fingerprint": {k: float(f"{v:.3g}") for k, v in (event.get("fingerprint") or {}).items()},
        "fix": {"parameter": fix.get("parameter"), "delta": fix.get("delta")} if fix else None,
        "variant": event.get("variant"),
    }


def export_anonymized(home: Path, target: str | Path) -> tuple[int, int]:
    """Write every valid event, anonymized, to ``target`` (atomically, streamed: one event per
    line inside the JSON document); returns (events written, invalid lines left out). Never over
    the log or any other file Auralis keeps; a failed write leaves no temporary file."""
    target = refuse_overwrite(home, target, feedback.log_path(home))
    count = invalid = 0
    with write_atomic_stream(target) as out:
        out.write(f'{{"format": "{EXPORT_FORMAT}", "schema": {feedback.SCHEMA_VERSION}, "events": [')
        for event in feedback.stream_events(feedback.log_path(home)):
            if event is None:
                invalid += 1
                continue
            out.write(("," if count else "") + "\n " + json.dumps(anonymize(event), ensure_ascii=False))
            count += 1
        out.write("\n]}\n")
    return count, invalid
