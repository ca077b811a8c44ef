"""The app's panels, one module each; every panel declares the keys it answers to."""

from .library import LibraryPanel
from .patterns import PatternsPanel
from .playing import PlayingPanel
from .profiles import ProfilesPanel
from .queue import QueuePanel
from .sql import SqlPanel
from .trends import TrendsPanel

#: (pane id, title, panel class), in F-key order.
PANELS = (
    ("library", "Library", LibraryPanel),
    ("playing", "Playing", PlayingPanel),
    ("patterns", "Patterns", PatternsPanel),
    ("trends", "Trends", TrendsPanel),
    ("profiles", "Profiles", ProfilesPanel),
    ("sql", "SQL", SqlPanel),
    ("queue", "Queue", QueuePanel),
)

__all__ = [
    "PANELS", "LibraryPanel", "PatternsPanel", "PlayingPanel", "ProfilesPanel", "QueuePanel", "SqlPanel", "TrendsPanel",
]  # fmt: skip
