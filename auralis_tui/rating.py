"""Rate a track: find (or compute) its analysis, note what mastering applies to it, and append
the event to the feedback log. Shared by ``auralis rate`` and the TUI."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from engine.detect import UNKNOWN, detect
from engine.features import FEATURE_NAMES, FINGERPRINT_VERSION, Fingerprint

from . import feedback, personal, store
from .inputs import readable_file


@dataclass(frozen=True)
class TrackState:
    """What the engine knows about a track and the mastering that applies to it."""

    path: Path
    fingerprint: Fingerprint
    type: str
    confidence: float
    profile_name: str
    profile_version: str
    philosophy: str
    parameters: dict[str, float]
    personal_version: str | None
    cached: bool
    matched: tuple[str, ...] = ()  # features inside the detected profile's ranges: why this type
    missed: tuple[str, ...] = ()
    test_id: str | None = None  # a blind A/B test chose this version (see abtest.blind_state)
    variant: str | None = None

    def summary(self) -> dict:
        """What a client shows about the track's mastering (JSON-ready; no fingerprint)."""
        return {
            "type": self.type, "confidence": self.confidence, "profile_name": self.profile_name,
            "profile_version": self.profile_version, "philosophy": self.philosophy,
            "parameters": dict(self.parameters), "personal_version": self.personal_version,
            "matched": list(self.matched), "missed": list(self.missed), "test_id": self.test_id,
            "variant": self.variant,
        }  # fmt: skip


#: How long a rating waits for a database another process holds before it analyses the file
#: itself: the line goes to the log either way, and the database catches up at the next ingest.
QUICK_TIMEOUT = 2.0


def track_state(home: Path, path: str | Path, use_personal: bool = True) -> TrackState:
    """Use the library's cached fingerprint when it is current, else analyse the file now (also
    when the database is busy, damaged or on a full disk: that only costs the decoding)."""
    readable_file(path)  # one line naming the real cause (a folder, a pipe, a symlink loop…)
    path = Path(path).resolve()
    current, layer = personal.effective_profiles(home, use_personal)
    cached, learned = _known(home, path)
    if cached is not None:
        return state_from(path, cached, current, layer, learned)
    from .analysis import analyze_file  # decoding and the chain: only for files the library lacks

    analysis = analyze_file(path, current)
    return _state(path, analysis.fingerprint, analysis.detection, current, layer, learned, cached=False)


def _known(home: Path, path: Path) -> tuple[list[float] | None, dict[str, float]]:
    """The library's fingerprint of ``path`` and its learned confidences (none when the database
    cannot be read now)."""
    try:
        with store.session(home, timeout=QUICK_TIMEOUT):  # three reads, one attach of the database
            cached = store.cached_fingerprint(home, str(path), FINGERPRINT_VERSION)
            store.sync_feedback(home)  # the confidence folds in every event so far
            return cached, store.learned_confidence(home, str(path))
    except store.StoreError as exc:
        store.deferred(home, exc)
        return None, {}


def state_from(path: Path, vector, profiles: dict, layer, learned: dict[str, float] | None = None) -> TrackState:
    """The state of a track whose fingerprint (25 values) the library already holds; ``learned``
    holds its feedback-updated confidence per type (``confidence.py``)."""
    fp = Fingerprint.from_dict(dict(zip(FEATURE_NAMES, vector, strict=True)))
    return _state(path, fp, detect(fp, profiles), profiles, layer, learned, cached=True)


def _state(path: Path, fp: Fingerprint, detection, profiles: dict, layer, learned, cached: bool) -> TrackState:
    kind, sure = detection.type, detection.confidence
    if learned and kind in learned:
        sure = learned[kind]
        if sure < profiles[kind].min_confidence:  # its fixes kept being refused: master it gently
            kind = UNKNOWN
    profile = profiles[kind]
    demoted = kind != detection.type
    return TrackState(
        path=path,
        fingerprint=fp,
        type=kind,
        confidence=sure,
        profile_name=profile.name,
        profile_version=profile.version,
        philosophy=profile.title,
        parameters=profile.master.as_dict(),
        personal_version=layer.version if layer else None,
        cached=cached,
        matched=tuple(detection.matched()) if detection.evidence and not demoted else (),
        missed=tuple(detection.missed()) if detection.evidence and not demoted else (),
    )


def event_line(state: TrackState, event: str = "rating", when: datetime | None = None, **fields: object) -> dict:
    """A complete feedback line about ``state``'s track (not yet written)."""
    return feedback.make_event(
        event,
        track_path=state.path,
        detected_type=state.type,
        confidence=state.confidence,
        profile={"name": state.profile_name, "version": state.profile_version},
        parameters_applied=state.parameters,
        fingerprint={k: round(v, 6) for k, v in state.fingerprint.as_dict().items()},
        philosophy=state.philosophy,
        personal_version=state.personal_version,
        when=when,
        **({"test_id": state.test_id, "variant": state.variant} | fields),
    )


def record(home: Path, state: TrackState, event: str = "rating", **fields: object) -> dict:
    """Append one event about ``state``'s track; returns the line written."""
    line = event_line(state, event, **fields)
    feedback.append(home, line)
    return line


def rate(home: Path, path: str | Path, rating: int, comment: str = "") -> tuple[dict, TrackState]:
    """Record a 1–5 rating (and optional comment, cut to ``feedback.COMMENT_LIMIT`` bytes with a
    warning) for the file at ``path``."""
    if type(rating) is not int or rating not in (1, 2, 3, 4, 5):
        raise feedback.FeedbackError(f"rating must be a whole number from 1 to 5, not {rating}")
    comment, cut = feedback.cap_comment(comment.strip())
    if cut:
        store.log.warning(f"the comment was cut to its first {feedback.COMMENT_LIMIT} bytes")
    state = track_state(home, path)
    return record(home, state, rating=rating, comment=comment), state


def fix(
    home: Path,
    path: str | Path,
    event: str,
    parameter: str | None = None,
    delta: float | None = None,
    refers_to: str | None = None,
) -> tuple[dict, TrackState]:
    """Record a fix decision about the mastering applied to ``path``, answering ``refers_to``
    (default: the track's latest rating). ``undo`` without a parameter withdraws that rating."""
    if event not in feedback.FIX_EVENTS:
        raise feedback.FeedbackError(f"a fix event is one of {', '.join(feedback.FIX_EVENTS)}, not {event!r}")
    if delta is not None and not feedback.is_number(delta):
        raise feedback.FeedbackError(f"the delta must be a finite number, not {delta}")
    if event == "modify" and (parameter is None or delta is None):
        raise feedback.FeedbackError("a modify event needs the parameter and the delta it changed")
    state = track_state(home, path)  # it has ingested the log: the latest rating is known
    refers_to = refers_to or latest_rating_id(home, str(state.path))
    if refers_to is None:
        raise feedback.FeedbackError(f"{state.path.name} has no rating to answer yet: rate it first")
    if parameter is None and event != "undo":
        parameter = feedback.WHOLE_FIX
    change = {"parameter": parameter, "delta": delta} if parameter else None
    return record(home, state, event, fix=change, refers_to=refers_to), state


def latest_rating_id(home: Path, path: str) -> str | None:
    """The newest rating of ``path`` not withdrawn: from the database, else read from the log."""
    try:
        with store.session(home, timeout=QUICK_TIMEOUT):
            return store.latest_rating_id(home, path)
    except store.StoreError:
        pass  # track_state has said why
    ratings, withdrawn = {}, set()
    for event in feedback.stream_events(feedback.log_path(home)):
        if event is None or event.get("track_path") != path:
            continue
        if event["event"] == "rating":
            ratings[event["id"]] = event["timestamp"]
        elif event["event"] == "undo" and not (event.get("fix") or {}).get("parameter"):
            withdrawn.add(event.get("refers_to"))
    standing = {id_: when for id_, when in ratings.items() if id_ not in withdrawn}
    return max(standing, key=standing.__getitem__) if standing else None
