"""Playing: what plays, where, which version, and why it is mastered the way it is."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Static

from ...feedback import stars
from ..format import bar, minutes, safe
from .keys import Scroller

IDLE = "Nothing playing. Select a track in the Library (F1) and press enter."
HINT = "1–5 rate · c comment · u withdraw · y/x/z accept/reject/undo fix · a A/B · +/− volume · ←/→ seek · S stop"
SERVED = "The music server plays this: it plays on after q (S or `auralis stop` stops it)."


class PlayingPanel(Scroller):
    """Renders the player's status; the app hands it everything (no I/O here)."""

    def compose(self) -> ComposeResult:
        yield Static(IDLE, id="now")

    def opened(self) -> None:
        self.focus()

    def show(self, status, title: str, rated: dict | None, comment: str, served: bool = False) -> None:
        self.query_one("#now", Static).update(describe(status, title, rated, comment, served))


def describe(status, title: str, rated: dict | None, comment: str, served: bool = False) -> str:
    """The panel's text: the track and position, the version heard, the mastering and why."""
    if status is None or status.path is None:
        now = IDLE + _message(status)
    else:
        version = "B mastered" if status.mastered else "A original"
        clock = f"{minutes(status.position)} / {minutes(status.duration)}  {bar(status.position, status.duration, 30)}"
        now = (
            f"[b]{safe(title)}[/b]\n{status.state}  {clock if status.duration else 'preparing the track…'}\n"
            f"A/B: {version}   volume {status.volume:.0%}   underruns {status.underruns}" + _message(status)
        )
    last = f"\nlast: {stars(rated['rating'])} {safe(rated['track'])}" if rated else ""
    pending = f"\ncomment ready: “{safe(comment)}” — press 1–5" if comment else ""
    plays_on = f"\n[dim]{SERVED}[/dim]" if served else ""
    return f"{now}\n{_why(status.info if status else None)}\n{HINT}{plays_on}{last}{pending}"


def _why(info) -> str:
    if info is None:
        return ""
    p = info.parameters
    applied = (
        f"bass {p['bass_db']:+.2f} dB  mid {p['mid_db']:+.2f} dB  treble {p['treble_db']:+.2f} dB  "
        f"width {p['width']:+.2f}  target {p['target_lufs']:.1f} LUFS"
    )
    version = info.profile_version
    if info.test_id:  # a blind A/B test: nothing on screen may tell the variants apart
        version, applied = "(blind A/B test)", "parameters hidden until the test stops"
    personal = f" + personal {info.personal_version}" if info.personal_version else ""
    missed = f"; {', '.join(info.missed)} outside" if info.missed else ""
    return (
        f"\ntype [b]{info.type}[/b] ({info.confidence:.2f}) — profile {info.profile_name} {version}{personal}\n"
        f"{applied}\nwhy: {', '.join(info.matched) or '-'} in range{missed}\n"
    )


def _message(status) -> str:
    return f"\n[i]{safe(status.message)}[/i]" if status is not None and status.message else ""
