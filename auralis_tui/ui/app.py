"""The Auralis app: keyboard-first panels over the library, playback, ratings, patterns, trends,
profiles and SQL.

Keys belong to whoever shows them: each panel declares its own, a focused text box owns every
printable key, and the App keeps only what holds everywhere (F1–F6 switch from any focus).
Slow work runs in thread workers that post typed messages (``messages.py``); the event loop only
updates widgets. Playback status is polled at 4 Hz.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
import traceback
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property, wraps
from pathlib import Path
from typing import ClassVar

from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.css.query import NoMatches
from textual.widgets import DataTable, Footer, Header, Static, TabbedContent, TabPane
from textual.worker import Worker

from .. import feedback
from ..errors import AudioUnavailable
from . import messages as msg
from .commands import AuralisCommands
from .feedback_writer import FeedbackWriter, Pending
from .format import safe
from .panels import PANELS, LibraryPanel, PatternsPanel, PlayingPanel, ProfilesPanel, QueuePanel, TrendsPanel
from .screens import CommentBox, Confirm, Help

VOLUME_STEP = 0.05
OPENING = "opening the audio device…"
CONNECTING = "connecting to the music server…"


def result(message_type: type):
    """``@on(message_type)`` for what a worker or the server's reader thread posts: a message that
    arrives while the app closes is dropped, as the widgets it would update are gone."""

    def decorate(handler):
        @wraps(handler)
        def while_open(app: App, message) -> None:
            if app.is_running:
                handler(app, message)

        return on(message_type)(while_open)

    return decorate


@dataclass(frozen=True)
class Target:
    """What the rating keys rate now: the playing track, else the Library's selected row."""

    path: str
    title: str
    heard: str  # feedback.HEARD
    state: object | None  # the player's rating.TrackState for a playing track (the parameters in the ear)
    playing: bool


class Pane(TabPane):
    """A panel's tab pane. Focus moving into it never switches tabs (Textual's TabPane asks for
    that): a panel focuses its widget as it opens, and that late request used to pull the app
    back to it when the next F-key had already switched on (F1 then F2 stayed on Library)."""

    @on(TabPane.Focused)
    def _keep_the_open_tab(self, event: TabPane.Focused) -> None:
        event.stop()


class NoticeHandler(logging.Handler):
    """The services' warnings (a busy database, a cut comment) as notices: text printed to the
    terminal would draw over the screen."""

    def __init__(self, app: App) -> None:
        super().__init__(logging.WARNING)
        self.app = app

    def emit(self, record: logging.LogRecord) -> None:
        self.app.post_message(msg.Notice(record.getMessage(), "warning", 6.0))  # thread-safe


class KeysFooter(Footer):
    """The key bar, rebuilt only when the keys it shows change. Textual's footer rebuilds itself
    on every focus change: 14 new widgets to mount and style, and the removed ones stay on the heap
    (they watch the footer's ``compact``, and Textual drops such watchers only when it changes,
    textual#6666), where every full garbage collection walked them again."""

    _keys: tuple = ()

    def shown_keys(self) -> tuple:
        bindings = self.screen.active_bindings.values()
        return tuple((binding.key, binding.description, on) for _, binding, on, _ in bindings if binding.show)

    def compose(self) -> ComposeResult:
        self._keys = self.shown_keys()
        yield from super().compose()

    def bindings_changed(self, screen) -> None:
        if not self._bindings_ready or self.shown_keys() != self._keys:
            super().bindings_changed(screen)

    async def recompose(self) -> None:
        await super().recompose()
        self.mutate_reactive(Footer.compact)  # drops the removed keys' watchers


class AuralisApp(App):
    """Listen, rate with single keys, and watch the ratings tune the mastering."""

    TITLE = "Auralis"
    CSS_PATH = "app.tcss"
    COMMANDS = App.COMMANDS | {AuralisCommands}
    BINDINGS: ClassVar[list[BindingType]] = [
        *[Binding(f"f{n}", f"panel('{pane}')", title, show=False, priority=True)
          for n, (pane, title, _) in enumerate(PANELS, 1)],
        Binding("space", "pause", "Pause"),
        Binding("left", "seek(-5)", "−5 s", show=False),
        Binding("right", "seek(5)", "+5 s", show=False),
        Binding("n", "skip(1)", "Next track", show=False),
        Binding("p", "skip(-1)", "Previous track", show=False),
        Binding("plus,equals_sign", f"volume({VOLUME_STEP})", "Volume up", show=False),
        Binding("minus", f"volume(-{VOLUME_STEP})", "Volume down", show=False),
        Binding("a", "ab", "A/B"),
        Binding("S", "stop", "Stop the music", show=False),
        *[Binding(str(n), f"rate({n})", f"Rate {n}★" if n > 1 else "Rate", show=n == 1) for n in range(1, 6)],
        Binding("c", "comment", "Comment"),
        Binding("u", "undo", "Withdraw last rating", show=False),
        Binding("y", "fix('accept')", "Accept the fix", show=False),
        Binding("x", "fix('reject')", "Reject the fix", show=False),
        Binding("z", "fix('undo')", "Undo the fix", show=False),
        Binding("R", "undo_degradation", "Roll back a profile rated worse", show=False),
        Binding("question_mark", "help", "Help"),
        Binding("q", "quit", "Quit"),
    ]

    def __init__(self, home: Path, audio: bool = True, server: bool = False) -> None:
        """``server``: attach to the home's music server (started when none runs), which plays,
        queues and records ratings; else play in this process (without a queue), as tests do."""
        super().__init__()
        self.home = home
        self.want_audio = audio
        self.use_server = server
        self.player = None
        self.last_rated: dict | None = None  # the last rating written (the Playing panel shows it)
        self.writer = FeedbackWriter(self, self.write_event)
        self.ratings_typed = 0
        self.answering: tuple[int, str] | None = None  # (serial, path) of the rating u/y/x/z answer
        self.answers: set[str] = set()  # y/x/z given to it: each once
        self.pending_comment = ""
        self.pending: list = []  # play and queue requests made while the player opens: done once it is
        self.audio_message = CONNECTING if server else OPENING if audio else "sound off (--no-audio)"
        self.insights_stale = False
        self.degraded: list = []  # learning.Degradation warnings; R rolls the first one back
        self._started = False
        self.attaching = False  # a server ran at start: ``attach`` connects and brings the library

    def compose(self) -> ComposeResult:
        yield Header()
        with TabbedContent(initial="library"):
            for n, (pane, title, panel) in enumerate(PANELS, 1):
                with Pane(f"{title} [dim]F{n}[/dim]", id=pane):
                    yield panel(classes="panel")
        yield Static("", id="status")
        yield KeysFooter()

    def on_mount(self) -> None:
        logger = logging.getLogger("auralis")
        self._log_handlers, logger.handlers = logger.handlers, [NoticeHandler(self)]
        self.panel(LibraryPanel).opened()
        self.attaching = self.use_server and self._server_runs()
        # First: the first frame shows the library; the rest follows. A running server has it at hand.
        self.freeze_heap_after([self.attach() if self.attaching else self.load_library()])
        self.set_interval(0.25, self.refresh_playing)

    def _server_runs(self) -> bool:
        from ..server.runtime import running_pid

        return running_pid(self.home) is not None

    @cached_property
    def treatments(self):
        """How tracks are mastered now (for playing and rating in this process: a served app asks
        its server). Made when first needed: it reads profiles and imports the database layer."""
        from ..treatments import Treatments

        return Treatments(self.home)

    def panel(self, kind: type):
        return self.query_one(kind)

    def load_the_rest(self) -> None:
        """Once the library is on screen: insights and the audio output."""
        started = [self.load_insights()]
        if (self.want_audio or self.use_server) and not self.attaching:  # else ``attach`` connects
            started.append(self.open_player())
        self.freeze_heap_after(started)

    @work(group="gc", exit_on_error=False)
    async def freeze_heap_after(self, workers: list[Worker]) -> None:
        """Once ``workers`` are done, exempt what start-up built (imported modules, the library:
        ~120,000 long-lived objects in all) from garbage collection: each full collection walked
        them again and stalled the event loop for 80-120 ms, typically on a panel's first visit."""
        await asyncio.gather(*(worker.wait() for worker in workers), return_exceptions=True)
        gc.freeze()

    # --- workers: slow work off the event loop --------------------------------------------------

    @work(thread=True, exclusive=True, group="library", exit_on_error=False)
    def load_library(self) -> None:
        self.post_message(msg.LibraryLoaded(self._library_rows()))

    def _library_rows(self) -> list[dict]:
        """The library read here (``store.library_listing``), its tracks known to the treatments."""
        from .. import store

        rows = store.library_listing(self.home)
        self.treatments.know(rows)
        return rows

    @work(thread=True, exclusive=True, group="player", exit_on_error=False)
    def attach(self) -> None:
        """A server runs: connect to it and show the library it reads, so the first frame waits
        neither for DuckDB nor for the profiles; the library is read here only when that fails."""
        from ..server.client import ServerError
        from ..server.runtime import ServerUnavailable

        remote = self._connect()
        try:
            rows = remote.connection.request("library") if remote else None
        except (ServerError, ServerUnavailable, TimeoutError) as exc:  # an older server, or one that could not read it
            self.post_message(msg.Notice(f"library read here: the server said {exc}", "warning", 4.0))
            rows = None
        self.post_message(msg.LibraryLoaded(self._library_rows() if rows is None else rows))
        if remote:
            self.post_message(msg.PlayerReady(remote))

    @work(thread=True, exclusive=True, group="insights", exit_on_error=False)
    def load_insights(self) -> None:
        from .. import insights, learning, profiles, store

        summaries = insights.type_summaries(self.home)
        known = set(profiles.names(self.home))
        applicable = learning.applicable_patterns(self.home, [s.type for s in summaries if s.type in known])
        monthly = insights.monthly_summary(self.home)
        distribution, versions = store.trend_rows(self.home)
        fixes, confidences = insights.fix_effectiveness(self.home), insights.confidence_summary(self.home)
        heard = store.heard_comparison(self.home)
        self.post_message(
            msg.InsightsLoaded(summaries, applicable, monthly, distribution, versions, fixes, confidences, heard)
        )
        self.post_message(msg.Degradations(learning.degradations(self.home)))

    @work(thread=True, exclusive=True, group="player", exit_on_error=False)
    def open_player(self) -> None:
        if self.use_server:
            remote = self._connect()
            if remote:
                self.post_message(msg.PlayerReady(remote))
            return
        from ..config import load_config
        from ..player import Player

        try:
            device = load_config(self.home).audio_device or None
            player = Player(self.home, device, state_for=self.treatments.start)
        except AudioUnavailable as exc:
            self.post_message(msg.AudioOff(str(exc)))
            return
        self.post_message(msg.PlayerReady(player))

    def _connect(self):
        """A ``RemotePlayer`` on the home's server (started when none runs), or None, said why."""
        from ..server.client import RemotePlayer
        from ..server.runtime import ServerUnavailable

        try:
            said = lambda *event: self.post_message(msg.ServerSaid(*event))  # noqa: E731 - the reader thread's hook
            return RemotePlayer(self.home, self.want_audio, said)
        except (ServerUnavailable, OSError) as exc:
            self.post_message(msg.AudioOff(f"no server: {exc}"))
            return None

    @work(thread=True, exclusive=True, group="queue", exit_on_error=False)
    def load_queue(self) -> None:
        listing = self.player.connection.request("queue")
        self.post_message(msg.QueueLoaded(listing["items"], self.player.status().track))

    def write_event(self, path: str, event: str, fields: dict, state=None) -> dict:
        """Write one feedback line (in the feedback writer's thread) and learn from it; the line."""
        from .. import rating
        from ..learning import Degradation, after_feedback

        if self.remote:  # the server writes: with the mastering and variant it chose for the track
            answer = self.player.connection.request("record", path=path, event=event, **fields)
            self.post_message(msg.EventRecorded(answer["line"]))
            self.post_message(msg.Degradations([Degradation(**warning) for warning in answer["degraded"]]))
            return answer["line"]
        line = rating.record(self.home, state or self.treatments.state(path), event, **fields)
        self.post_message(msg.EventRecorded(line))
        outcome = after_feedback(self.home, path)  # may reveal a profile rated worse than before
        self.post_message(msg.Learned(path, outcome.learned))
        self.post_message(msg.Degradations(outcome.degradations))
        return line

    @property
    def remote(self) -> bool:
        """Playback, the queue and ratings go through the home's server."""
        return self.player is not None and hasattr(self.player, "connection")

    # --- messages --------------------------------------------------------------------------------

    @result(msg.LibraryLoaded)
    def _library_loaded(self, message: msg.LibraryLoaded) -> None:
        if not self._started:
            self._started = True
            self.call_after_refresh(self.load_the_rest)
        self.panel(LibraryPanel).show(message.rows)
        self.sub_title = f"{len(message.rows)} tracks"

    @result(msg.InsightsLoaded)
    def _insights_loaded(self, m: msg.InsightsLoaded) -> None:
        self.panel(PatternsPanel).show(m.summaries, m.applicable)
        self.panel(TrendsPanel).show(m.monthly, m.distribution, m.versions, m.fixes, m.confidences, m.heard)

    @on(msg.PlayerReady)
    def _player_ready(self, message: msg.PlayerReady) -> None:
        self.player, self.audio_message = message.player, ""
        if self.remote:
            self.load_queue()
        pending, self.pending = self.pending, []
        for request in pending:  # enter or e was pressed while the player was opening
            self.post_message(request)

    @result(msg.AudioOff)
    def _audio_off(self, message: msg.AudioOff) -> None:
        self.audio_message = message.reason
        if self.pending:  # a key waited for the player: say why nothing happened
            self.notify(safe(message.reason), severity="warning")
        self.pending = []

    def _not_ready(self, message) -> bool:
        """No player yet: keep ``message`` for when it opens, or say why there is none."""
        if self.player is not None:
            return False
        if self.audio_message in (OPENING, CONNECTING):
            self.pending.append(message)
        elif self.use_server:  # the server could not be started: try again (the config may be fixed now)
            self.audio_message = CONNECTING
            self.pending.append(message)
            self.open_player()
        else:
            self.notify(self.audio_message or "no sound", severity="warning")
        return True

    @on(msg.PlayRequested)
    def _play(self, message: msg.PlayRequested) -> None:
        if self._not_ready(message):
            return
        self.player.load(message.paths)
        self.player.play(message.index)

    @result(msg.ServerSaid)
    def _server_said(self, message: msg.ServerSaid) -> None:
        if message.name == "playlist" and self.remote:
            self.load_queue()
        elif message.name == "player":
            self.panel(QueuePanel).mark(message.data["id"])
        elif message.name == "rating":  # from any client (mpc, `auralis rate N`, another app)
            self.panel(LibraryPanel).show_rating(message.data["track_path"], message.data["rating"])
            self._insights_changed()
        elif message.name == "error":
            self.notify(safe(message.data), severity="warning", timeout=4)
        elif message.name == "closed":
            self.player, self.audio_message = None, CONNECTING
            self.notify("the music server stopped; starting it again", severity="warning", timeout=3)
            self.set_timer(1.0, self.open_player)

    @result(msg.QueueLoaded)
    def _queue_loaded(self, message: msg.QueueLoaded) -> None:
        self.panel(QueuePanel).show(message.items, message.current)

    @on(msg.QueueRequested)
    def _enqueue(self, message: msg.QueueRequested) -> None:
        if self.use_server and self._not_ready(message):
            return
        if not self.remote:
            self.notify("the queue lives in the music server (`auralis` opens it)", severity="warning")
            return
        self.player.enqueue(message.paths, message.next)
        self.notify(f"{'playing next' if message.next else 'queued'}: {safe(self.title_of(message.paths[0]))}",
                    timeout=2)  # fmt: skip

    @on(msg.QueueAction)
    def _queue_action(self, message: msg.QueueAction) -> None:
        if not self.remote:
            return
        if message.action == "play":
            self.player.edit("play", id=message.item)
        elif message.action == "remove":
            self.player.edit("remove", id=message.item)
        else:
            step = -1 if message.action == "up" else 1
            self.player.edit("move", source=message.position, target=max(0, message.position + step))

    @result(msg.EventRecorded)
    def _recorded(self, message: msg.EventRecorded) -> None:
        line = message.line
        if line["event"] == "rating":
            self.last_rated = line
            title = self.title_of(line["track_path"])
            self.notify(f"{feedback.stars(line['rating'])} {safe(title)} · {line['heard']} — saved", timeout=3)
            self.panel(LibraryPanel).show_rating(line["track_path"], line["rating"])
        else:
            withdrawn = line["event"] == "undo" and not line.get("fix") and line["refers_to"]
            if self.last_rated and withdrawn == self.last_rated["id"]:
                self.last_rated = None  # the Playing panel stops showing it
            self.notify(f"{line['event']} recorded", timeout=3)
        self._insights_changed()

    @on(msg.Learned)
    def _learned(self, message: msg.Learned) -> None:
        self.treatments.learned(message.path, message.confidence)  # the next play or rating uses it

    @result(msg.Degradations)
    def _degradations(self, message: msg.Degradations) -> None:
        new = [warning for warning in message.warnings if warning not in self.degraded]
        self.degraded = message.warnings
        for warning in new:
            self.notify(f"{safe(warning.message())} — or press R", severity="warning", timeout=15)

    @result(msg.MasteringChanged)
    def _mastering_changed(self, message: msg.MasteringChanged) -> None:
        self.notify(safe(message.notice), timeout=5)
        if self.remote:  # new parameters for the next ratings and plays
            self.player.edit("reload")
        else:
            self.treatments.reload()
        self.load_insights()  # an applied change leaves the Patterns table
        if self.query_one(TabbedContent).active == "profiles":
            self.panel(ProfilesPanel).load()

    @result(msg.Notice)
    def _notice(self, message: msg.Notice) -> None:
        self.notify(safe(message.text), severity=message.severity, timeout=message.timeout)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """One place for worker errors: a one-line notice instead of a crash."""
        if event.state.name == "ERROR":
            self.notify(safe(f"{event.worker.group}: {event.worker.error}"), severity="error", timeout=6)

    def _insights_changed(self) -> None:
        """Patterns and Trends catch up now when on screen, else when next opened."""
        if self.query_one(TabbedContent).active in ("patterns", "trends"):
            self.load_insights()
        else:
            self.insights_stale = True

    # --- panels ----------------------------------------------------------------------------------

    def action_panel(self, pane: str) -> None:
        self.query_one(TabbedContent).active = pane

    @on(TabbedContent.TabActivated)
    def _panel_opened(self, event: TabbedContent.TabActivated) -> None:
        """Keys go to the panel on screen; Patterns and Trends catch up on new ratings."""
        event.pane.query_one(".panel").opened()
        if event.pane.id in ("patterns", "trends") and self.insights_stale:
            self.insights_stale = False
            self.load_insights()

    @on(DataTable.RowHighlighted, "#tracks")
    def _row_moved(self, _event: DataTable.RowHighlighted) -> None:
        self.refresh_playing()  # the status line names the new rating target at once

    def title_of(self, path: str | Path) -> str:
        row = self.panel(LibraryPanel).by_path.get(str(path))
        return (row and row.get("title")) or Path(path).name

    # --- playback --------------------------------------------------------------------------------

    def action_pause(self) -> None:
        if self.player:
            self.player.toggle_pause()

    def action_seek(self, seconds: float) -> None:
        if self.player:
            self.player.seek(seconds, relative=True)

    def action_skip(self, step: int) -> None:
        if self.player:
            self.player.next() if step > 0 else self.player.previous()

    def action_volume(self, step: float) -> None:
        if self.player:
            self.player.set_volume(round(self.player.status().volume + step, 2))
            self.notify(f"volume {self.player.status().volume:.0%}", timeout=1)

    def action_stop(self) -> None:
        if self.player:
            self.player.stop()

    def action_ab(self) -> None:
        if self.player:
            mastered = self.player.toggle_ab()
            self.notify("B: mastered" if mastered else "A: original — ratings now count for the original", timeout=2)
            self.refresh_playing()

    # --- rating ----------------------------------------------------------------------------------

    def rating_target(self) -> Target | None:
        """The playing (or paused) track, else the Library's selected row."""
        status = self.player.status() if self.player else None
        if status and status.path and status.state != "stopped":
            path = str(status.path)
            return Target(path, self.title_of(path), status.heard, status.info, playing=True)
        row = self.panel(LibraryPanel).selected()
        if row is None:
            return None
        return Target(row["path"], self.title_of(row["path"]), "mastered", None, playing=False)

    def action_rate(self, given: int) -> None:
        target = self.rating_target()
        if target is None:
            self.notify("select a track first", severity="warning")
            return
        fields = {"rating": given, "comment": self.pending_comment, "heard": target.heard}
        self.ratings_typed += 1
        self.writer.put(Pending(target.path, "rating", fields, target.state, serial=self.ratings_typed))
        self.answering, self.answers = (self.ratings_typed, target.path), set()
        self.pending_comment = ""

    def action_comment(self) -> None:
        target = self.rating_target()
        if target is None:
            self.notify("select a track first", severity="warning")
            return

        def keep(text: str | None) -> None:
            self.pending_comment = text or ""
            self.refresh_playing()

        self.push_screen(CommentBox(target.title), keep)

    def action_undo(self) -> None:
        """Withdraw the last rating (an undo without a fix parameter)."""
        if not self.answering:
            self.notify("no rating to withdraw", severity="warning", timeout=2)
            return
        serial, path = self.answering
        self.writer.put(Pending(path, "undo", answers=serial))
        self.answering = None

    def action_fix(self, event: str) -> None:
        """Accept, reject or undo the mastering applied to the last rated track."""
        if not self.answering:
            self.notify("rate a track first: y/x/z answer its mastering", severity="warning", timeout=2)
            return
        decided = self.answers & {"accept", "reject"}
        if event in self.answers or (event != "undo" and decided):
            said = "undone" if event == "undo" else "accepted" if "accept" in decided else "rejected"
            self.notify(f"already {said} for this rating: rate again to answer anew", severity="warning", timeout=3)
            return
        self.answers.add(event)  # a held or repeated key must not count one answer many times
        serial, path = self.answering
        self.writer.put(Pending(path, event, {"fix": {"parameter": feedback.WHOLE_FIX}}, answers=serial))

    def action_undo_degradation(self) -> None:
        """One key back to the version that was rated better (after a confirmation)."""
        if not self.degraded:
            self.notify("no profile change is rated worse", timeout=2)
            return
        warning = self.degraded[0]
        ref = f"{warning.kind}@{warning.parent}"

        def answered(yes: bool | None) -> None:
            if yes:
                self.degraded.remove(warning)
                self.panel(ProfilesPanel).rollback(ref)

        self.push_screen(Confirm(f"Roll {warning.kind} back to {warning.parent}?"), answered)

    # --- help ------------------------------------------------------------------------------------

    def action_help(self) -> None:
        here, everywhere, seen = [], [], set()
        for key, active in self.screen.active_bindings.items():
            binding = active.binding
            if not binding.description or (active.node, binding.action) in seen:
                continue
            seen.add((active.node, binding.action))
            keys = ", ".join(self.get_key_display(b) for b in self._bindings_for(active.node, binding.action))
            (everywhere if active.node is self else here).append((keys or key, binding.description))
        tabs = self.query_one(TabbedContent)
        self.push_screen(Help(here, everywhere, str(tabs.get_tab(tabs.active).label)))

    def _bindings_for(self, node, action: str) -> list[Binding]:
        return [b for _, b in node._bindings if b.action == action]

    # --- the status line -------------------------------------------------------------------------

    _shown: tuple = ()

    def refresh_playing(self) -> None:
        """4 Hz: redraw the Playing panel and the status line only when something changed."""
        try:
            library, playing = self.panel(LibraryPanel), self.panel(PlayingPanel)
            status_line = self.query_one("#status", Static)
        except NoMatches:  # a tick while the app closes and its widgets go away
            return
        status = self.player.status() if self.player else None
        target = self.rating_target()
        selected = library.selected()
        shown = (vars(status) if status else None, self.last_rated, self.pending_comment, self.audio_message,
                 target, selected and selected.get("error"))  # fmt: skip
        if shown == self._shown:
            return
        self._shown = shown
        title = self.title_of(status.path) if status and status.path else ""
        playing.show(status, title, self.last_rated, self.pending_comment, self.remote)
        status_line.update(self._status_text(status, target, selected))

    def _status_text(self, status, target: Target | None, selected: dict | None) -> str:
        parts = []
        if status and status.path and status.state != "stopped":
            parts.append(f"{'▶' if status.state == 'playing' else '❚❚'} {safe(self.title_of(status.path))}")
        elif self.audio_message:
            parts.append(safe(self.audio_message))
        if selected and selected.get("error") and not (target and target.playing):
            parts.append(f"[red]✗ {safe(selected['error'])}[/red]")
        if target:
            comment = " (with comment)" if self.pending_comment else ""
            parts.append(f"rates → [b]{safe(target.title)}[/b] · {target.heard}{comment}")
        return "  ·  ".join(parts)

    async def on_unmount(self) -> None:
        logging.getLogger("auralis").handlers = self._log_handlers
        if self.player:
            self.plays_on = self.remote and self.player.status().state == "playing"
            self.player.close()

    def _handle_exception(self, error: Exception) -> None:
        """A crash: keep the traceback in the home (the terminal is being restored) and exit 1."""
        crash = self.home / "crash.log"
        try:
            with open(crash, "a", encoding="utf-8") as handle:
                handle.write(f"--- {datetime.now(UTC).isoformat()}\n")
                handle.writelines(traceback.format_exception(error))
            self.crash_log = crash
        except OSError:
            self.crash_log = None
        super()._handle_exception(error)


def run(home: Path, audio: bool = True) -> int:
    """Run the app; a hang-up (SSH gone) or SIGTERM exits cleanly and restores the terminal —
    every rating is already on disk. Returns the exit code (1 after a crash)."""
    import sys

    app = AuralisApp(home, audio, server=True)
    for sig in (signal.SIGHUP, signal.SIGTERM):
        signal.signal(sig, lambda *_: app.exit())
    app.run()
    if getattr(app, "plays_on", False):
        print("auralis: the music plays on in the server; `auralis stop` stops it", file=sys.stderr)
    if app.return_code:
        where = getattr(app, "crash_log", None) or "the output above"
        print(f"auralis: the app stopped on an error; the traceback is in {where}", file=sys.stderr)
    return app.return_code or 0
