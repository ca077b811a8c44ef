"""The Auralis app: keyboard-first panels over the library, playback, ratings, patterns, trends,
profiles and SQL. Every slow call runs in a thread worker that posts a message back; the event
loop only updates widgets. Playback status is polled at 4 Hz."""

from __future__ import annotations

import asyncio
import gc
import signal
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.css.query import NoMatches
from textual.message import Message
from textual.widgets import DataTable, Footer, Header, Input, Static, TabbedContent, TabPane
from textual.worker import Worker

from .. import feedback, store
from ..errors import AudioUnavailable
from .panels import LibraryPanel, NowPlayingPanel, PatternsPanel, ProfilesPanel, SqlPanel, TrendsPanel, stars


@dataclass
class Loaded(Message):
    """A worker finished: ``kind`` names what, ``data`` is the result."""

    kind: str
    data: object


@dataclass
class Failed(Message):
    what: str
    error: str


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
    BINDINGS: ClassVar[list[Binding]] = [
        Binding("f1", "panel('library')", "Library"),
        Binding("f2", "panel('playing')", "Playing"),
        Binding("f3", "panel('patterns')", "Patterns"),
        Binding("f4", "panel('trends')", "Trends"),
        Binding("f5", "panel('profiles')", "Profiles"),
        Binding("f6", "panel('sql')", "SQL"),
        Binding("enter", "play_selected", "Play", show=False),
        Binding("j", "cursor('down')", "Down", show=False),
        Binding("k", "cursor('up')", "Up", show=False),
        Binding("space", "pause", "Pause"),
        Binding("left", "seek(-5)", "−5 s", show=False),
        Binding("right", "seek(5)", "+5 s", show=False),
        Binding("n", "skip(1)", "Next", show=False),
        Binding("p", "skip(-1)", "Prev", show=False),
        Binding("a", "ab", "A/B"),
        *[Binding(str(n), f"rate({n})", f"{n}★", show=n == 1) for n in range(1, 6)],
        Binding("c", "comment", "Comment"),
        Binding("u", "undo", "Undo rating", show=False),
        Binding("y", "fix('accept')", "Accept fix", show=False),
        Binding("x", "fix('reject')", "Reject fix", show=False),
        Binding("z", "fix('undo')", "Undo fix", show=False),
        Binding("slash", "filter", "Filter"),
        Binding("d", "diff", "Diff", show=False),
        Binding("m", "mark", "Mark for diff", show=False),
        Binding("r", "rollback", "Rollback", show=False),
        Binding("R", "undo_degradation", "Undo worse profile", show=False),
        Binding("question_mark", "help", "Help"),
        Binding("q", "quit", "Quit"),
    ]

    def __init__(self, home: Path, audio: bool = True) -> None:
        super().__init__()
        self.home = home
        self.want_audio = audio
        self.player = None
        self.rows: list[dict] = []
        self.last_rated: dict | None = None
        self.states: dict[str, object] = {}  # path → rating.TrackState
        self.fingerprints: dict[str, list[float]] = {}  # path → the library's current fingerprint
        self.learned: dict[str, dict[str, float]] = {}  # path → feedback-updated confidence per type
        self.marked: str | None = None  # Profiles: the version the next diff starts from (m)
        self.mastering = None  # (effective profiles, personal layer), see load_mastering
        self.pending_comment = ""
        self.audio_message = ""
        self.insights_stale = False
        self.degraded: list = []  # learning.Degradation warnings; R rolls the first one back

    def compose(self) -> ComposeResult:
        yield Header()
        with TabbedContent(initial="library"):
            with TabPane("Library", id="library"):
                yield LibraryPanel()
            with TabPane("Playing", id="playing"):
                yield NowPlayingPanel()
            with TabPane("Patterns", id="patterns"):
                yield PatternsPanel()
            with TabPane("Trends", id="trends"):
                yield TrendsPanel()
            with TabPane("Profiles", id="profiles"):
                yield ProfilesPanel()
            with TabPane("SQL", id="sql"):
                yield SqlPanel()
        yield Input(placeholder="comment (e.g. 'a bit thin', 'harsh'), enter to keep, esc to cancel", id="comment")
        yield Static("", id="status")
        yield KeysFooter()

    def on_mount(self) -> None:
        self.query_one("#comment", Input).display = False
        self.query_one("#tracks", DataTable).focus()
        self.freeze_heap_after([self.load_library()])  # first: the first frame shows it; the rest follows
        if not self.want_audio:
            self.audio_message = "sound off (--no-audio)"
        self.set_interval(0.25, self.refresh_playing)

    def load_the_rest(self) -> None:
        """Once the library is on screen: insights, profiles and the audio output."""
        started = [self.load_mastering(), self.load_insights(), self.load_profiles()]
        if self.want_audio:
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
        from engine.fingerprint import FINGERPRINT_VERSION

        store.sync_feedback(self.home)
        self.post_message(Loaded("library", store.library_rows(self.home, FINGERPRINT_VERSION)))

    @work(thread=True, exclusive=True, group="insights", exit_on_error=False)
    def load_insights(self) -> None:
        from .. import insights

        summaries = insights.type_summaries(self.home)
        monthly = insights.monthly_summary(self.home)
        distribution, versions = store.trend_rows(self.home)
        fixes, confidences = insights.fix_effectiveness(self.home), insights.confidence_summary(self.home)
        self.post_message(Loaded("insights", (summaries, monthly, distribution, versions, fixes, confidences)))
        from ..learning import degradations

        self.post_message(Loaded("degradations", degradations(self.home)))

    @work(thread=True, exclusive=True, group="profiles", exit_on_error=False)
    def load_profiles(self) -> None:
        from .. import profiles

        rows = []
        for name in profiles.names(self.home):
            current = profiles.current_version(self.home, name)
            for profile in profiles.history(self.home, name):
                rows.append((name, profile.version, profile.reason, profile.version == current))
        self.post_message(Loaded("profiles", rows))

    @work(thread=True, exclusive=True, group="player", exit_on_error=False)
    def open_player(self) -> None:
        from ..config import load_config
        from ..player import Player

        try:
            player = Player(self.home, load_config(self.home).audio_device or None, state_for=self.state_of)
        except AudioUnavailable as exc:
            self.post_message(Loaded("audio", str(exc)))
            return
        self.post_message(Loaded("player", player))

    @work(thread=True, exclusive=True, group="state", exit_on_error=False)
    def load_mastering(self) -> None:
        """The profiles and personal layer in use, so a rating needs no file or database reads."""
        from .. import personal, rating  # noqa: F401 - imported here, off the first rating's path

        self.mastering = personal.effective_profiles(self.home)
        self.states.clear()

    def state_of(self, path: str | Path):
        """What a rating records about ``path``: from the library's fingerprint when it has one
        (no database read, which could wait behind a loading panel)."""
        from .. import abtest, personal, rating

        path = str(path)
        if path not in self.states:
            vector = self.fingerprints.get(path)
            if vector is not None:
                self.mastering = self.mastering or personal.effective_profiles(self.home)  # before it loads
                state = rating.state_from(Path(path), vector, *self.mastering, self.learned.get(path))
            else:
                state = rating.track_state(self.home, path)
            self.states[path] = abtest.blind_state(self.home, state)  # a running test picks the version
        return self.states[path]

    @work(thread=True, group="feedback", exit_on_error=False)
    def write_event(self, path: str, event: str, fields: dict) -> None:
        from .. import rating

        line = rating.record(self.home, self.state_of(path), event, **fields)
        self.post_message(Loaded("rated" if event == "rating" else "event", line))
        from ..learning import after_feedback

        outcome = after_feedback(self.home, path)  # may reveal a profile rated worse than before
        self.post_message(Loaded("learned", (path, outcome.learned)))
        self.post_message(Loaded("degradations", outcome.degradations))

    @work(thread=True, exclusive=True, group="apply", exit_on_error=False)
    def apply_patterns(self, kind: str) -> None:
        from .. import learning

        applied = learning.apply_patterns(self.home, kind)
        changed = ", ".join(f"{key} {old:+.2f} → {new:+.2f}" for key, old, new in applied.changes)
        self.post_message(Loaded("notice", f"personal layer {applied.version}: {kind} {changed}"))
        self.call_from_thread(self.load_mastering)  # new parameters for the next ratings and plays

    @work(thread=True, exclusive=True, group="sql", exit_on_error=False)
    def run_sql(self, query: str) -> None:
        store.sync_feedback(self.home)
        try:
            result = store.run_user_query(self.home, query)
        except store.QueryRefused as exc:
            self.post_message(Failed("sql", str(exc)))
            return
        self.post_message(Loaded("sql", (result.columns, result.rows)))

    @work(thread=True, exclusive=True, group="profiles-diff", exit_on_error=False)
    def diff_versions(self, ref: str, left: str | None = None) -> None:
        """``left`` → ``ref``; without ``left``, the version ``ref`` was derived from."""
        from .. import profiles

        if left is None:
            name, version = profiles.parse_ref(ref)
            left = f"{name}@{profiles.load(self.home, name, version).parent or version}"
        _, _, changes = profiles.diff(self.home, left, ref)
        self.post_message(Loaded("diff", (left, ref, changes)))

    @work(thread=True, exclusive=True, group="profiles", exit_on_error=False)
    def rollback_to(self, ref: str) -> None:
        from .. import profiles

        name, version = profiles.parse_ref(ref)
        result = profiles.rollback(self.home, name, version)
        self.post_message(Loaded("notice", f"{name}: new version {result.version} = {version}"))
        self.call_from_thread(self.load_mastering)  # parameters changed
        self.call_from_thread(self.load_profiles)

    # --- messages from workers -------------------------------------------------------------------

    @on(Loaded)
    def loaded(self, message: Loaded) -> None:
        kind, data = message.kind, message.data
        if kind == "library":
            if not self.rows:
                self.call_after_refresh(self.load_the_rest)
            self.rows = data
            self.fingerprints = {row["path"]: row["fingerprint"] for row in data if row["fingerprint"]}
            self.learned = {r["path"]: {r["type"]: r["learned_confidence"]} for r in data if r["learned_confidence"]}
            self.query_one(LibraryPanel).show(self.rows, self.query_one("#filter", Input).value)
            self.sub_title = f"{len(self.rows)} tracks"
        elif kind == "insights":
            summaries, *trends = data
            self.query_one(PatternsPanel).show(summaries)
            self.query_one(TrendsPanel).show(*trends)
        elif kind == "profiles":
            self.query_one(ProfilesPanel).show(data)
        elif kind == "diff":
            self.query_one(ProfilesPanel).show_diff(*data)
        elif kind == "player":
            self.player = data
        elif kind == "audio":
            self.audio_message = data
        elif kind == "sql":
            self.query_one(SqlPanel).show(*data)
        elif kind == "rated":
            self.last_rated = data
            self.notify(f"{stars(data['rating'])} {data['track']} — saved", timeout=3)
            self.show_rating(data["track_path"], data["rating"])
            self.insights_stale = True  # reloaded when Patterns or Trends is opened
        elif kind == "learned":
            path, learned = data
            self.learned[path] = learned
            self.states.pop(path, None)  # the next play or rating of it uses the new confidence
        elif kind == "event":
            self.notify(f"{data['event']} recorded", timeout=3)
        elif kind == "notice":
            self.notify(data, timeout=5)
        elif kind == "degradations":
            new = [warning for warning in data if warning not in self.degraded]
            self.degraded = data
            for warning in new:
                self.notify(f"{warning.message()} — or press R here", severity="warning", timeout=15)
        self.refresh_playing()

    def show_rating(self, path: str, given: int) -> None:
        """Update one row in place (a reload would move the cursor)."""
        for row in self.rows:
            if row["path"] == path:
                row["last_rating"] = given
        table = self.query_one("#tracks", DataTable)
        if path in {key.value for key in table.rows}:
            table.update_cell(path, "rated", stars(given))

    @on(Failed)
    def failed(self, message: Failed) -> None:
        if message.what == "sql":
            self.query_one(SqlPanel).error(message.error)

    def on_worker_state_changed(self, event) -> None:
        """One place for worker errors: a one-line notice instead of a crash."""
        if event.state.name == "ERROR":
            self.notify(f"{event.worker.group}: {event.worker.error}", severity="error", timeout=6)

    # --- actions ---------------------------------------------------------------------------------

    def action_panel(self, panel: str) -> None:
        self.query_one(TabbedContent).active = panel

    #: The widget that takes the keys when a panel opens.
    FOCUS: ClassVar[dict[str, str]] = {
        "library": "#tracks", "patterns": "#recommendations", "profiles": "#versions", "sql": "#sql",
    }  # fmt: skip

    @on(TabbedContent.TabActivated)
    def panel_opened(self, event: TabbedContent.TabActivated) -> None:
        """Keys go to the panel on screen; Patterns and Trends catch up on new ratings."""
        if event.pane.id in self.FOCUS:
            self.query_one(self.FOCUS[event.pane.id]).focus()
        if event.pane.id in ("patterns", "trends") and self.insights_stale:
            self.insights_stale = False
            self.load_insights()

    def selected_path(self) -> str | None:
        status = self.player.status() if self.player else None
        if self.query_one(TabbedContent).active != "library" and status and status.path:
            return str(status.path)
        table = self.query_one("#tracks", DataTable)
        if table.row_count == 0:
            return None
        return table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value

    def visible_paths(self) -> list[Path]:
        table = self.query_one("#tracks", DataTable)
        return [Path(table.coordinate_to_cell_key((i, 0)).row_key.value) for i in range(table.row_count)]

    def action_cursor(self, direction: str) -> None:
        if isinstance(self.focused, DataTable):
            self.focused.action_cursor_down() if direction == "down" else self.focused.action_cursor_up()

    @on(DataTable.RowSelected, "#recommendations")
    def recommendation_chosen(self, event: DataTable.RowSelected) -> None:
        self.apply_patterns(event.row_key.value)

    @on(DataTable.RowSelected, "#tracks")
    def track_chosen(self, _event: DataTable.RowSelected) -> None:
        self.action_play_selected()

    def action_play_selected(self) -> None:
        if self.query_one(TabbedContent).active != "library":
            return
        if self.player is None:
            self.notify(self.audio_message or "no sound yet", severity="warning")
            return
        table = self.query_one("#tracks", DataTable)
        if table.row_count:
            self.player.load(self.visible_paths())
            self.player.play(table.cursor_row)

    def action_pause(self) -> None:
        if self.player:
            self.player.toggle_pause()

    def action_seek(self, seconds: float) -> None:
        if self.player:
            self.player.seek(seconds, relative=True)

    def action_skip(self, step: int) -> None:
        if self.player:
            self.player.next() if step > 0 else self.player.previous()

    def action_ab(self) -> None:
        if self.player:
            mastered = self.player.toggle_ab()
            self.notify("B: mastered" if mastered else "A: original", timeout=1.5)

    def action_rate(self, stars_given: int) -> None:
        path = self.selected_path()
        if path is None:
            self.notify("select a track first", severity="warning")
            return
        self.write_event(path, "rating", {"rating": stars_given, "comment": self.pending_comment})
        self.pending_comment = ""

    def action_comment(self) -> None:
        box = self.query_one("#comment", Input)
        box.display = True
        self.call_after_refresh(box.focus)  # focused now, the "c" itself would land in the box

    @on(Input.Submitted, "#comment")
    def comment_done(self, event: Input.Submitted) -> None:
        self.pending_comment = event.value.strip()
        self.close_input(event.input)
        self.refresh_playing()

    def close_input(self, box: Input) -> None:
        box.value = "" if box.id == "comment" else box.value
        box.display = box.id == "filter" and bool(box.value)
        self.query_one("#tracks", DataTable).focus()

    def key_escape(self) -> None:
        """Esc leaves the comment or filter box."""
        if isinstance(self.focused, Input) and self.focused.id in ("comment", "filter"):
            self.close_input(self.focused)

    def action_undo(self) -> None:
        """Withdraw the last rating (an undo without a fix parameter)."""
        if self.last_rated:
            self.write_event(self.last_rated["track_path"], "undo", {"refers_to": self.last_rated["id"]})
            self.last_rated = None

    def action_fix(self, event: str) -> None:
        """Accept, reject or undo the mastering applied to the last rated track."""
        if self.last_rated:
            path = self.last_rated["track_path"]
            fields = {"refers_to": self.last_rated["id"], "fix": {"parameter": feedback.WHOLE_FIX}}
            self.write_event(path, event, fields)

    def action_filter(self) -> None:
        self.action_panel("library")
        box = self.query_one("#filter", Input)
        box.display = True
        self.call_after_refresh(box.focus)

    @on(Input.Changed, "#filter")
    def filter_changed(self, event: Input.Changed) -> None:
        self.query_one(LibraryPanel).show(self.rows, event.value)

    @on(Input.Submitted, "#filter")
    def filter_done(self, event: Input.Submitted) -> None:
        self.close_input(event.input)

    @on(Input.Submitted, "#sql")
    def sql_submitted(self, event: Input.Submitted) -> None:
        if event.value.strip():
            self.run_sql(event.value)

    def _selected_version(self) -> str | None:
        table = self.query_one("#versions", DataTable)
        if self.query_one(TabbedContent).active != "profiles" or table.row_count == 0:
            return None
        return table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value

    def action_mark(self) -> None:
        """Keep the selected version as the left side of the next diff."""
        self.marked = self._selected_version()
        if self.marked:
            self.notify(f"{self.marked} marked: select another version and press d", timeout=4)

    def action_diff(self) -> None:
        ref = self._selected_version()
        if ref:
            self.diff_versions(ref, self.marked if self.marked != ref else None)

    def action_rollback(self) -> None:
        ref = self._selected_version()
        if ref:
            self.rollback_to(ref)

    def action_undo_degradation(self) -> None:
        """One key back to the version that was rated better."""
        if self.degraded:
            warning = self.degraded.pop(0)
            self.rollback_to(f"{warning.kind}@{warning.parent}")

    def action_help(self) -> None:
        self.notify(
            "F1–F6 panels · enter play · space pause · ←/→ seek · n/p next/prev · a A/B · 1–5 rate · "
            "c comment · u withdraw rating · y/x/z accept/reject/undo fix · / filter · m mark, d diff · r rollback · "
            "R undo a profile change rated worse · q quit",
            timeout=10,
        )

    _shown: tuple = ()

    def refresh_playing(self) -> None:
        """4 Hz: redraw the playing panel and status line only when something changed."""
        status = self.player.status() if self.player else None
        shown = (vars(status) if status else None, self.last_rated, self.pending_comment, self.audio_message)
        if shown == self._shown:
            return
        try:
            panel, status_line = self.query_one(NowPlayingPanel), self.query_one("#status", Static)
        except NoMatches:  # a tick while the app closes and its widgets go away
            return
        self._shown = shown
        panel.show(status, self.last_rated, self.pending_comment)
        line = self.audio_message
        if status and status.path:
            line = f"{status.state} {status.path.name}"
        status_line.update(line)

    async def on_unmount(self) -> None:
        if self.player:
            self.player.close()


def run(home: Path, audio: bool = True) -> None:
    """Run the app; a hang-up (SSH gone) exits cleanly — every rating is already on disk."""
    app = AuralisApp(home, audio)
    signal.signal(signal.SIGHUP, lambda *_: app.exit())
    app.run()
