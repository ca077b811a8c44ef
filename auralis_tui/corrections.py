"""Named corrections of the personal layer: listening gear and hearing profiles (plain data, so the
CLI can list them without importing the engine)."""

from __future__ import annotations

#: Listening gear and the correction each implies (dB or width units).
GEAR: dict[str, dict[str, float]] = {
    "none": {},
    "bright_headphones": {"treble_db": -1.0},
    "dark_headphones": {"treble_db": 1.0},
    "bass_light_headphones": {"bass_db": 1.5},
    "small_speakers": {"bass_db": -1.5},
}
#: Hearing profiles and their corrections.
HEARING: dict[str, dict[str, float]] = {
    "none": {},
    "bass_sensitive": {"bass_db": -1.0},
    "treble_sensitive": {"treble_db": -1.0},
    "high_frequency_loss": {"treble_db": 1.5},
}
