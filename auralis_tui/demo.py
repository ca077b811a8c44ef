"""The built-in demo library: a dozen deterministic synthesized, tagged FLAC tracks that span
the recording types, kept apart from the user's own data under ``<home>/demo-library``."""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

from mutagen.flac import FLAC

from engine import audio

from . import feedback, store
from .config import add_library_root
from .demo_history import build_history
from .library import scan
from .synth import CHARACTERS, render


@dataclass(frozen=True)
class DemoTrack:
    file: str
    artist: str
    album: str
    title: str
    track: int
    year: int
    genre: str
    character: str
    seconds: float
    rate: int = 44100
    tempo_shift: float = 0.0
    key_shift: float = 1.0
    seed: int = 0


DEMO_TRACKS: tuple[DemoTrack, ...] = (
    DemoTrack(
        "01 Glass Horizon.flac",
        "Northlight",
        "Clear Skies",
        "Glass Horizon",
        1,
        2023,
        "Pop",
        "studio_hd_bright",
        45,
        96000,
        seed=1,
    ),
    DemoTrack(
        "02 Prism.flac", "Northlight", "Clear Skies", "Prism", 2, 2023, "Pop", "studio_hd_bright", 40, 48000, 8, 1.12, 2
    ),
    DemoTrack(
        "03 Velvet Room.flac", "The Quiet Hours", "Late Sessions", "Velvet Room", 1, 2019, "Soul", "studio", 50, seed=3
    ),
    DemoTrack(
        "04 Paper Boats.flac",
        "The Quiet Hours",
        "Late Sessions",
        "Paper Boats",
        2,
        2019,
        "Soul",
        "studio",
        35,
        44100,
        -6,
        0.94,
        4,
    ),
    DemoTrack("05 Iron Tide.flac", "Ashen Crown", "Forge", "Iron Tide", 1, 2021, "Metal", "metal", 40, seed=5),
    DemoTrack(
        "06 Cinder March.flac",
        "Ashen Crown",
        "Forge",
        "Cinder March",
        2,
        2021,
        "Metal",
        "metal",
        30,
        48000,
        12,
        1.06,
        6,
    ),
    DemoTrack(
        "07 Back Row (Audience).flac",
        "Northlight",
        "Live at the Depot (bootleg)",
        "Back Row",
        1,
        2024,
        "Pop",
        "bootleg",
        45,
        seed=7,
    ),
    DemoTrack(
        "08 Encore Tape.flac",
        "Ashen Crown",
        "Tape Trades",
        "Encore Tape",
        1,
        2022,
        "Metal",
        "bootleg",
        30,
        44100,
        20,
        0.9,
        8,
    ),
    DemoTrack("09 Open Air.flac", "Fieldhouse", "Summer Stage", "Open Air", 1, 2018, "Rock", "live", 55, seed=9),
    DemoTrack(
        "10 Long Echo.flac", "Fieldhouse", "Summer Stage", "Long Echo", 2, 2018, "Rock", "live", 40, 48000, -8, 1.1, 10
    ),
    DemoTrack(
        "11 Gramophone Waltz.flac",
        "Orchestre Lumière",
        "Archive 1952",
        "Gramophone Waltz",
        1,
        1952,
        "Jazz",
        "vintage",
        35,
        seed=11,
    ),
    DemoTrack(
        "12 Midnight Wire.flac",
        "Orchestre Lumière",
        "Archive 1952",
        "Midnight Wire",
        2,
        1952,
        "Jazz",
        "vintage",
        30,
        22050,
        10,
        1.05,
        12,
    ),
)


def render_track(track: DemoTrack, path: Path) -> DemoTrack:
    """Synthesize and tag one demo track (deterministic for a given entry)."""
    base = CHARACTERS[track.character]
    character = replace(base, tempo=base.tempo + track.tempo_shift, key_hz=base.key_hz * track.key_shift)
    audio.write(path, render(character, track.seconds, track.rate, seed=track.seed), track.rate)
    tags = FLAC(path)
    tags.update(
        {
            "artist": track.artist,
            "albumartist": track.artist,
            "album": track.album,
            "title": track.title,
            "tracknumber": str(track.track),
            "date": str(track.year),
            "genre": track.genre,
        }
    )
    tags.save()
    return track


def build_demo(home: Path, progress: Callable[[str], None] = lambda _msg: None, jobs: int | None = None) -> dict:
    """Render missing demo tracks under ``home/demo-library``, then scan and analyse them."""
    library = home / "demo-library"
    library.mkdir(parents=True, exist_ok=True)
    missing = [track for track in DEMO_TRACKS if not (library / track.file).exists()]
    if missing:
        progress(f"rendering {len(missing)} demo tracks …")
        with ProcessPoolExecutor(max_workers=jobs or os.cpu_count() or 1) as pool:
            for track in pool.map(render_track, missing, [library / t.file for t in missing]):
                progress(f"  rendered {track.file}")
    add_library_root(home, library)
    scan(home, library, jobs)
    present = [library / track.file for track in DEMO_TRACKS if (library / track.file).exists()]
    if build_history(home, present):
        progress("wrote six months of demo feedback and a second studio profile version")
    made_as = {track.file: track.character for track in DEMO_TRACKS}
    rows = [
        {**row, "file": Path(row["path"]).name, "character": made_as.get(Path(row["path"]).name, "?")}
        for row in store.tracks_under(home, str(library.resolve()))
    ]
    events = feedback.read_log(home).events
    return {"home": str(home), "library": str(library), "tracks": rows, "feedback_events": len(events)}
