"""Auralis DSP engine: decode, loudness, fingerprint, detection and mastering.

Pure functions and small dataclasses over numpy/scipy/soundfile. The engine never imports the
application, the UI or the stores.
"""
