"""Journeys: the installed ``auralis`` in a real terminal (tmux), real key presses, and the JSONL
line each rating writes. These are the checks a listener would make; Pilot tests alone once
missed keys leaking from the SQL box into rating actions."""

from __future__ import annotations

import json
import os
import signal
import subprocess

import pytest

from auralis_tui import abtest, feedback
from auralis_tui.ui.format import minutes

from conftest import wait_until
from served import MPDServed, Served
from terminal import AURALIS, Log, Terminal

#: Text only the given panel shows (panels that aren't on screen aren't drawn).
MARKERS = {
    "F1": "Iron Tide",
    "F2": "Nothing playing",
    "F3": "ratings, average",
    "F4": "Mastered vs original",
    "F5": "Reason",
    "F6": "Views: tracks",
    "F7": "The queue is empty",
}


@pytest.fixture
def app(home, request):
    """The app on a copy of the demo home, without sound."""
    size = getattr(request, "param", (80, 24))
    terminal = Terminal(f"{AURALIS} --home {home} --no-audio", size)
    terminal.wait_for("Iron Tide", "rates →")
    yield terminal
    terminal.close()


@pytest.fixture
def sound_app(home, sink):
    """The app with sound: PortAudio plays into the ALSA file sink of DESIGN §6."""
    terminal = Terminal(f"{AURALIS} --home {home}", env={"HOME": str(sink)})
    terminal.wait_for("Iron Tide", "rates →")
    yield terminal
    terminal.close()


@pytest.mark.parametrize("app", [(80, 24), (120, 40)], ids=["80x24", "120x40"], indirect=True)
def test_the_sql_box_owns_every_key_typed_into_it(app, home):
    log = Log(home)
    app.keys("F6")
    app.wait_for("Views: tracks")
    # every rating key, a space, and the letters of every single-key action, q (quit) included
    app.type("select 1 as one, 2, 3, 4, 5 as five -- a c u y x z n p q m d r g G j k")
    app.wait_for("-- a c u y x z")
    app.keys("Enter")
    shown = app.wait_for("1 row(s)", "five")
    assert "one" in shown
    assert log.new() == [] and app.alive()  # no rating, no quit, no pause: the box took them all


def test_f_keys_switch_from_every_panel_to_every_other(app):
    for start in MARKERS:
        for target in MARKERS:
            if target == start:
                continue
            app.keys(start)
            app.wait_for(MARKERS[start])
            app.keys(target)
            app.wait_for(MARKERS[target])
    app.keys("F2", "F5", "F1", "F3", "F6", "F4")  # as fast as tmux types them: the last one wins
    app.wait_for(MARKERS["F4"])
    app.keys("F3", "F1")
    app.wait_for(MARKERS["F1"])


def test_library_columns_fit_the_terminal_and_follow_a_resize(home):
    """At 80x24 the Library keeps Title, Time and Rated; the terminal then grows (an SSH window
    resized) and the columns that fit now come back, live."""
    terminal = Terminal(f"{AURALIS} --home {home} --no-audio", (80, 24))
    try:
        at_80 = terminal.wait_for("Iron Tide", "rates →")
        subprocess.run(["tmux", "resize-window", "-t", terminal.session, "-x", "120", "-y", "40"], check=True)
        at_120 = terminal.wait_for("Album", "Conf", "rates →")
    finally:
        terminal.close()
    header_80 = next(line for line in at_80.splitlines() if "Title" in line)
    assert all(name in header_80 for name in ("Title", "Time", "Rated")) and "Album" not in header_80
    header_120 = next(line for line in at_120.splitlines() if "Title" in line)
    assert all(name in header_120 for name in ("Title", "Artist", "Album", "Time", "Type", "Conf", "Rated"))
    assert "Gramophone Waltz" in at_80 and "Paper Boats" in at_80  # nothing cut at 80x24
    assert len(at_120.splitlines()) == 40 and "Paper Boats" in at_120


def test_rating_keys_rate_the_selected_row_when_nothing_plays(app, home):
    log = Log(home)
    app.keys("Down", "Down")
    app.wait_for("rates → Encore Tape · mastered")
    app.keys("4")
    (line,) = log.wait_for_new(app, 1)
    assert (line["event"], line["rating"], line["heard"]) == ("rating", 4, "mastered")
    assert line["track_path"].endswith("Encore Tape.flac")
    app.keys("u")
    undo = log.wait_for_new(app, 2)[-1]
    assert (undo["event"], undo["refers_to"]) == ("undo", line["id"])
    app.keys("u")
    app.wait_for("no rating to withdraw")
    assert len(log.new()) == 2


def test_answers_land_in_key_order_on_the_rating_typed_before_them(app, home):
    """Keys typed faster than lines are written: each line lands in key order, u/y/x/z answer
    the rating typed just before them (not the one before that), and each answer counts once
    however often its key is pressed (a held x would otherwise count as many decisions in fix
    effectiveness, and move the detection confidence as often)."""
    log = Log(home)
    app.keys("Down")
    app.wait_for("rates → ")
    app.keys("2", "x", "x", "x", "y", "z", "z", "3", "y", "y", "4", "u", "u", "y")
    lines = log.wait_for_new(app, 7)
    app.wait_for("no rating to withdraw")  # the second u: the 4 is withdrawn already
    app.wait_for("already accepted for this rating", "rate a track first")
    two, three, four = (line for line in lines if line["event"] == "rating")
    assert [(line["event"], line["rating"] or (line.get("fix") or {}).get("parameter")) for line in lines] == [
        ("rating", 2), ("reject", "profile"), ("undo", "profile"),
        ("rating", 3), ("accept", "profile"),
        ("rating", 4), ("undo", None),
    ]  # fmt: skip
    answered = [line.get("refers_to") for line in lines]
    assert answered == [None, two["id"], two["id"], None, three["id"], None, four["id"]]
    assert len(log.new()) == 7


def test_comment_on_playing_returns_there_and_rates_the_track_heard(sound_app, home, sink):
    """Play, pause, move the Library cursor elsewhere, comment on Playing: the comment and the
    rating land on the track that plays, and `a` makes the next rating one of the original."""
    app, log = sound_app, Log(home)
    app.keys("Down", "Down", "Down", "Down", "Down")  # Glass Horizon
    app.wait_for("rates → Glass Horizon")
    app.keys("Enter")
    app.wait_for("▶ ")  # the unpaced sink plays the list in seconds: pause it while it plays
    app.keys("Space")
    shown = app.wait_for("❚❚ ")
    playing = shown.split("❚❚ ", 1)[1].split("  ·")[0].strip()  # the unpaced sink may have moved on
    app.keys("Up", "Up", "Up")
    app.wait_for(f"rates → {playing} · mastered")  # still the paused track, not the cursor's row
    app.keys("Right")
    app.wait_for("❚❚ ")  # seeking keeps the pause
    app.keys("F2")
    app.wait_for("A/B: B mastered")
    app.keys("-")
    app.wait_for("volume 95%")
    app.keys("c")
    app.wait_for(f"Comment on {playing}")
    app.type("sounds thin")
    app.keys("Enter")
    app.wait_for("comment ready: “sounds thin”", "A/B: B mastered")  # back on Playing
    app.keys("3")
    (line,) = log.wait_for_new(app, 1)
    assert (line["rating"], line["comment"], line["heard"]) == (3, "sounds thin", "mastered")
    assert line["track"].endswith(f"{playing}.flac")
    assert line["parameters_applied"]["bass_db"] is not None and line["profile"]["version"]
    app.keys("a")
    app.wait_for("A/B: A original", f"rates → {playing} · original")
    app.keys("5")
    original = log.wait_for_new(app, 2)[-1]
    assert (original["rating"], original["heard"], original["comment"]) == (5, "original", "")
    assert original["track_path"] == line["track_path"]
    assert (sink / "out.raw").stat().st_size > 0  # sound reached the device


def test_patterns_ask_before_changing_the_personal_layer(app, home):
    from auralis_tui import personal

    app.keys("F3")
    app.wait_for("ratings, average", "Apply")  # the table has rows and its key is on the footer
    app.keys("Enter")
    app.wait_for("Apply to your personal layer for")
    app.keys("n")
    # the rows show behind the dialog: wait for the dialog to go, or the next keys race it
    app.wait_until(lambda: "Apply to your personal layer for" not in app.screen(), "the dialog closing")
    assert personal.current(home) is None or not personal.current(home).adjust
    app.keys("Enter")
    app.wait_for("Apply to your personal layer for")
    app.keys("y")
    app.wait_for("personal layer")
    app.wait_until(lambda: personal.current(home) and personal.current(home).adjust, "a personal layer version")


def test_help_lists_the_focused_panels_keys(app):
    app.keys("F5")
    app.wait_for("Reason")
    app.keys("?")
    shown = app.wait_for("On Profiles")
    assert "Diff" in shown and "Roll back" in shown
    app.keys("Escape")
    app.wait_until(lambda: "On Profiles" not in app.screen(), "the help closes")


@pytest.mark.parametrize("sig", [signal.SIGHUP, signal.SIGTERM], ids=["SIGHUP", "SIGTERM"])
def test_hangup_and_sigterm_end_the_app_cleanly(home, sig):
    """The SSH connection drops (SIGHUP) or the system stops the app (SIGTERM): exit 0, the
    terminal back in cooked mode on the main screen, and the rating already on disk."""
    log = Log(home)
    status = home / "after.txt"
    shell = f"{AURALIS} --home {home} --no-audio; echo $? > {status}; stty -a >> {status}; sleep 600"
    terminal = Terminal(f"sh -c '{shell}'", env={"NO_COLOR": "1"})
    try:
        terminal.wait_for("Iron Tide", "rates →")
        terminal.keys("3")
        log.wait_for_new(terminal, 1)
        children = subprocess.run(["pgrep", "-P", str(terminal.pid())], capture_output=True, text=True).stdout
        os.kill(int(children.split()[0]), sig)
        terminal.wait_until(lambda: status.exists() and "echo" in status.read_text(), f"the app ends on {sig.name}")
        code, settings = status.read_text().split("\n", 1)
        assert code.strip() == "0"
        assert " echo " in f" {settings} " and " icanon " in f" {settings} "  # the terminal is cooked again
        alternate = subprocess.run(["tmux", "display", "-p", "-t", terminal.session, "#{alternate_on}"],
                                   capture_output=True, text=True).stdout.strip()  # fmt: skip
        assert alternate == "0"
    finally:
        terminal.close()
    assert feedback.log_path(home).read_bytes().endswith(b"\n") and log.new()[-1]["rating"] == 3


def test_the_music_outlives_every_terminal_and_any_app_attaches_to_it(home, sink):
    """Two apps in two terminals show one player live; hanging both up leaves the music playing
    (the ALSA sink keeps receiving it); a third app shows the same track and position; `mpc next`
    moves it, and `mpc sticker … rating 8` on a studio track (an A/B test runs) is a 4-star line
    with the variant the server drew for it."""
    abtest.start(home, "studio-bass", "studio@2.0", "studio@2.1")
    served = MPDServed(home, sink)
    env = {"HOME": str(sink)}
    first = Terminal(f"{AURALIS} --home {home}", env=env)
    second = None
    try:
        first.wait_for("Iron Tide", "rates →")
        served.cli("mode", "repeat", "on")  # the unpaced sink plays the list in seconds: keep it going
        first.keys("Enter")
        first.wait_for("▶ ")
        second = Terminal(f"{AURALIS} --home {home}", env=env)
        second.wait_for("▶ ", "rates →")
        second.keys("Space")  # pause from the second app ...
        first.wait_for("❚❚ ")  # ... the first one sees it
        second.keys("Space")
        first.wait_for("▶ ")
        first.close()  # the SSH sessions go: tmux hangs up on both apps
        second.close()
        audio = sink / "out.raw"
        heard = audio.stat().st_size
        wait_until(lambda: audio.stat().st_size > heard + 4_000_000, "audio after every terminal has gone")
        paused = served.json("pause")
        third = Terminal(f"{AURALIS} --home {home}", env=env)
        second = third
        third.wait_for(f"❚❚ {paused['title']}")
        third.keys("F2")
        third.wait_for(f"paused  {minutes(paused['position'])} / {minutes(paused['duration'])}")
        served.mpc("next")  # an MPD client moves it; the app follows
        moved = served.wait_status(lambda s: s["pos"] == (paused["pos"] + 1) % 12, "the next track")
        third.wait_for(f"{moved['title']}")
        found = served.cli("sql", "SELECT path FROM tracks WHERE type = 'studio'", "--format", "json").stdout
        studio = {row["path"] for row in json.loads(found)}
        queue = [item["path"] for item in served.json("queue")["items"]]
        at = next(n for n, path in enumerate(queue) if path in studio)
        served.mpc("play", str(at + 1))  # MPD positions count from 1
        rated = served.wait_status(lambda s: s["pos"] == at and s["info"], "the studio track")
        before = len(served.feedback())
        served.mpc("sticker", served.mpc("-f", "%file%", "current").strip(), "set", "rating", "8")
        (line,) = served.feedback()[before:]
        assert (line["rating"], line["track_path"], line["test_id"]) == (4, rated["path"], "studio-bass")
        assert line["variant"] == rated["info"]["variant"] in ("control", "treatment")
        now = served.json("pause")
        os.kill(served.pid(), signal.SIGKILL)  # the server dies: the app starts another, which resumes in place
        third.wait_until(lambda: served.pid() is not None, "a new server, started by the app")
        third.wait_for(f"❚❚ {now['title']}", f"paused  {minutes(now['position'])}")
    finally:
        first.close()
        if second:
            second.close()


def test_library_keys_fill_the_queue_and_the_queue_panel_edits_it(app, home, sink):
    """e adds the selected track to the server's queue, E puts it next; on Queue, d removes and
    J moves: what the panel shows is what `auralis queue` lists."""
    served = Served(home, sink)
    titles = lambda: [item["title"] for item in served.json("queue")["items"]]  # noqa: E731
    app.keys("e")  # Iron Tide, the first row
    app.wait_for("queued: Iron Tide")
    app.keys("Down", "e", "Down", "E")  # Cinder March at the end; Encore Tape next (nothing plays: at the end too)
    app.wait_until(lambda: titles() == ["Iron Tide", "Cinder March", "Encore Tape"], "three queued tracks")
    app.keys("F7")
    app.wait_until(lambda: queue_rows(app) == ["1 Iron Tide", "2 Cinder March", "3 Encore Tape"], "the Queue panel")
    app.keys("J")  # Iron Tide moves down one
    app.wait_until(lambda: titles() == ["Cinder March", "Iron Tide", "Encore Tape"], "Iron Tide moved down")
    app.wait_until(lambda: queue_rows(app) == ["1 Cinder March", "2 Iron Tide", "3 Encore Tape"], "the panel")
    app.keys("Down", "d")  # the cursor followed Iron Tide to row 2: Encore Tape is below it
    app.wait_until(lambda: titles() == ["Cinder March", "Iron Tide"], "Encore Tape removed")
    app.wait_until(lambda: queue_rows(app) == ["1 Cinder March", "2 Iron Tide"], "the panel without it")


def queue_rows(app: Terminal) -> list[str]:
    """The Queue panel's rows as "position title"."""
    return [" ".join(line.split()) for line in app.screen().splitlines() if line.strip()[:1].isdigit()]
