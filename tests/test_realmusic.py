"""The engine on real music: a small subset of the corpus of ``scripts/realmusic.py``.

Three tracks of Debian's lincity-ng-data (freely licensed game music, OGG Vorbis, 44.1 kHz),
fetched with ``apt-get download`` into ``~/.cache/auralis/realmusic`` (outside the repository)
by the bootstrap or on first use here. If the package cannot be fetched the tests FAIL with the
reason: real music is part of what this suite promises. References share no code with the
engine: pyloudnorm (dev extra) for loudness, ``reference_dsp`` for true peak and centroid.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from scipy import signal

from engine import audio, loudness
from engine.detect import detect
from engine.fingerprint import fingerprint
from engine.master import master
from engine.model import load_profiles
from scripts.realmusic import SUBSET_PACKAGE as PACKAGE
from scripts.realmusic import FetchError, bootleg, default_cache, drummed, fetch, originals, vintage

from reference_dsp import spectral_centroid_hz, true_peak_16x_dbtp

TRACKS = 3
SECONDS = 40.0  # the 64-tap envelope let the third track, at 22.05 kHz, over at 31.9 s


@pytest.fixture(scope="module")
def tracks() -> list[tuple[str, np.ndarray, int]]:
    """(name, first 40 s as float32, rate) of the first three lincity-ng-data tracks."""
    cache = default_cache()
    try:
        fetch(cache, (PACKAGE,))
    except FetchError as exc:
        pytest.fail(f"real-music subset unavailable: {exc} (cache: {cache})", pytrace=False)
    paths = [path for path in originals(cache) if PACKAGE in str(path)][:TRACKS]
    assert len(paths) == TRACKS, f"{PACKAGE} in {cache} holds only {len(paths)} tracks of 30 s or more"
    found = []
    for path in paths:
        decoded = audio.decode(path)
        found.append((path.name, decoded.samples[: int(SECONDS * decoded.rate)], decoded.rate))
    return found


def test_fingerprint_loudness_and_centroid_match_independent_references(tracks):
    import pyloudnorm

    for name, samples, rate in tracks:
        fp = fingerprint(samples, rate)
        reference = pyloudnorm.Meter(rate).integrated_loudness(samples.astype(np.float64))
        assert fp.lufs == pytest.approx(reference, abs=0.1), name
        assert fp.lufs == pytest.approx(loudness.playback_loudness(samples, rate), abs=0.1), name
        centroid = spectral_centroid_hz(audio.to_mono(samples), rate)
        assert fp.spectral_centroid_hz == pytest.approx(centroid, rel=0.10), name


def test_a_dc_offset_changes_no_feature_that_matters(tracks):
    _, samples, rate = tracks[0]
    clean = fingerprint(samples * np.float32(0.6), rate)
    offset = fingerprint(samples * np.float32(0.6) + np.float32(0.3), rate)
    for feature in ("spectral_centroid_hz", "spectral_rolloff_hz", "crest_db", "harmonic_ratio", "sub_bass"):
        assert getattr(offset, feature) == pytest.approx(getattr(clean, feature), rel=0.03, abs=1e-3), feature
    assert offset.lufs == pytest.approx(clean.lufs, abs=0.05)


def test_detection_leaves_originals_alone_and_finds_degraded_copies(tracks):
    profiles = load_profiles()
    rng = np.random.default_rng(0)
    for name, samples, rate in tracks:
        assert detect(fingerprint(samples, rate), profiles).type not in ("bootleg", "vintage"), name
        x = samples.astype(np.float64)
        if rate != 44100:
            x = signal.resample_poly(x, 44100, rate, axis=0)
        for kind, derive in (("bootleg", bootleg), ("vintage", vintage)):
            copy = derive(x, rng).astype(np.float32)
            assert detect(fingerprint(copy, 44100), profiles).type == kind, (name, kind)


@pytest.mark.parametrize("rate", [22050, 44100, 48000])
def test_masters_hold_the_ceiling_at_16x_and_reach_the_target(tracks, rate):
    profiles = load_profiles()
    for name, samples, native in tracks:
        x = samples if rate == native else signal.resample_poly(samples, rate, native, axis=0).astype(np.float32)
        kind = detect(fingerprint(x, rate), profiles).type
        params = replace(profiles[kind].master, target_lufs=-9.0)  # hot: the limiter must work
        out, report = master(x, rate, params, kind)
        assert true_peak_16x_dbtp(out) <= params.ceiling_dbtp, (name, rate)
        assert loudness.playback_loudness(out, rate) == pytest.approx(report.lufs_out, abs=0.05)
        assert report.max_reduction_db > 0.5, (name, rate)


@pytest.mark.parametrize("bpm", [72, 99, 104, 150])
def test_tempo_of_drums_under_real_music_is_the_quarter_note(tracks, bpm):
    # Drums of known tempo (kick/snare on the quarters, hi-hats on the eighths) 6 dB under the
    # music: the eighth-note level (144, 198, 208 BPM) is a subdivision, not the beat.
    for index, (name, samples, rate) in enumerate(tracks):
        mix = drummed(samples.astype(np.float64), rate, bpm, index)
        assert fingerprint(mix, rate).tempo_bpm == pytest.approx(bpm, rel=0.04), name
