"""Application error types that the CLI catches without importing the modules that raise them."""

from __future__ import annotations


class AudioUnavailable(RuntimeError):
    """No sound: PortAudio or an output device is missing. The message says which."""


class Refused(ValueError):
    """A write that would destroy data (the log, a profile, the command's own input): not done."""
