"""Auralis TUI: listen, rate, and tune a versioned mastering profile — over SSH."""

__version__ = "0.1.0"
