"""The music server, used as a user would: `auralis` control commands in subprocesses, raw
protocol clients, kill -9, hostile input. The ALSA file sink is the audio device (unpaced: a
track plays out in a few seconds, so tests pause before they look at positions)."""

from __future__ import annotations

import itertools
import json
import os
import random
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

from auralis_tui import abtest, feedback
from auralis_tui.server import runtime

from conftest import wait_until
from served import Served

ALL = "SELECT path FROM tracks ORDER BY path"


@pytest.fixture
def served(home, sink):
    served = Served(home, sink)
    yield served
    served.stop()


def queued(served: Served) -> list[dict]:
    return served.json("queue")["items"]


def test_control_commands_drive_one_player(served):
    added = served.json("queue", "add", "--query", ALL)
    assert added["ids"] == list(range(1, 13)) and added["queue_length"] == 12
    assert runtime.running_pid(served.home)  # the first command started the server
    listing = served.cli("queue").stdout.splitlines()
    assert len(listing) == 12 and "Glass Horizon" in listing[0]  # titles from the library's tags

    served.cli("mode", "single", "on")  # the unpaced sink plays a track in seconds: loop it
    served.cli("mode", "repeat", "on")
    served.cli("play")
    played = served.wait_status(lambda s: s["state"] == "playing" and s["position"] > 1, "playback")
    assert played["pos"] == 0 and played["title"] == "Glass Horizon"
    paused = served.json("pause")
    assert paused["state"] == "paused"
    at = served.json("seek", "+3")
    assert at["state"] == "paused" and at["position"] == pytest.approx(paused["position"] + 3, abs=0.1)
    assert served.json("seek", "0:10")["position"] == pytest.approx(10, abs=0.1)
    assert served.json("volume", "-25")["volume"] == 75
    assert served.json("volume", "140")["volume"] == 100  # clamped
    line = served.cli("status").stdout
    assert line.startswith("❚❚ paused  [1/12] Glass Horizon  0:10 / 0:") and "vol 100%  repeat single" in line

    following = served.json("next")
    assert following["pos"] == 1 and following["title"] == "Prism"
    served.cli("queue", "move", "2", "5")  # the playing track moves; it keeps playing
    assert served.status()["pos"] == 4
    served.cli("queue", "remove", "1")
    assert [item["title"] for item in queued(served)][:2] == ["Velvet Room", "Paper Boats"]
    assert served.status()["title"] == "Prism"


def test_rate_without_a_file_rates_what_plays_with_the_variant_the_server_chose(served):
    abtest.start(served.home, "studio-bass", "studio@2.0", "studio@2.1")
    served.cli("queue", "add", "--query", "SELECT path FROM tracks WHERE type = 'studio' ORDER BY path")
    served.cli("play")
    served.wait_status(lambda s: s["state"] == "playing" and s["info"], "a studio track to play")
    now = served.json("pause")
    assert now["info"]["test_id"] == "studio-bass" and now["info"]["variant"] in ("control", "treatment")

    before = len(served.feedback())
    rated = served.cli("rate", "4", "--comment", "more bass please").stdout
    assert "★★★★☆" in rated and "A/B test studio-bass" in rated
    (line,) = served.feedback()[before:]
    assert line["track_path"] == now["path"] and line["rating"] == 4 and line["heard"] == "mastered"
    assert (line["test_id"], line["variant"]) == ("studio-bass", now["info"]["variant"])
    assert line["profile"]["version"] == now["info"]["profile_version"]
    assert line["comment"] == "more bass please"

    served.json("seek", "+1")  # still paused; the original now
    raw = served.raw()
    assert raw.ask("ab", mastered=False)["result"]["heard"] == "original"
    served.cli("rate", "2")
    assert served.feedback()[-1]["heard"] == "original"


def test_rating_an_unreadable_file_is_refused_in_one_line(served, tmp_path):
    """The app's 1–5 on a broken library row: a plain reason, not an internal error."""
    broken = tmp_path / "notes.flac"
    broken.write_text("not audio")
    before = served.feedback()
    served.cli("status")
    client = served.raw()
    try:
        reply = client.ask("record", path=str(broken), rating=3)
    finally:
        client.close()
    assert reply["error"] == "cannot rate notes.flac: not an audio file (format not recognised)"
    assert served.feedback() == before


def test_rate_without_a_file_needs_something_playing(served):
    served.cli("queue", "add", "--query", ALL)
    before = served.feedback()
    refused = served.cli("rate", "4", check=False)
    assert refused.returncode == 1 and refused.stderr.strip() == "auralis: nothing is playing: name the track"
    assert served.feedback() == before


def test_kill_9_loses_nothing_and_the_next_command_resumes_in_place(served):
    served.cli("queue", "add", "--query", ALL)
    served.cli("mode", "repeat", "on")
    served.cli("play")
    served.wait_status(lambda s: s["state"] == "playing" and s["position"] > 1, "playback")
    served.cli("next")
    before = len(served.feedback())
    for stars in "345":
        served.cli("rate", stars)
    state_file = served.home / "server-state.json"
    stamps = set()
    wait_until(lambda: stamps.add(state_file.stat().st_mtime_ns) or len(stamps) >= 3, "the state saved while playing")
    paused = served.json("pause")
    wait_until(lambda: json.loads(state_file.read_text())["state"] == "paused", "the paused state saved")

    os.kill(served.pid(), signal.SIGKILL)
    wait_until(lambda: served.pid() is None, "the lock to go with the killed server")
    back = served.status()  # starts a new server
    assert served.pid() is not None
    assert (back["state"], back["pos"], back["title"]) == ("paused", paused["pos"], paused["title"])
    assert back["position"] == pytest.approx(paused["position"], abs=1.0)
    assert back["modes"]["repeat"] and back["queue_length"] == 12
    assert [line["rating"] for line in served.feedback()[before:]] == [3, 4, 5]  # whole lines, none lost


def test_state_saved_while_playing_is_never_more_than_a_second_old(served):
    served.cli("queue", "add", "--query", ALL)
    served.cli("play")
    state_file, queue_file = served.home / "server-state.json", served.home / "server-queue.json"
    served.wait_status(lambda s: s["state"] == "playing", "playback")
    queue_written = queue_file.stat().st_mtime_ns
    saves = []  # (wall time, saved position) each time the file changed

    def changed() -> bool:
        position = json.loads(state_file.read_text())["position"]
        if not saves or saves[-1][1] != position:
            saves.append((time.monotonic(), position))
        return len(saves) >= 4

    wait_until(changed, "four saves while playing", poll=0.02)
    gaps = [later[0] - earlier[0] for earlier, later in itertools.pairwise(saves[1:])]
    assert max(gaps) < 2.0  # saved at 1 s intervals (+ a 0.25 s tick, + polling, + a busy machine)
    assert queue_file.stat().st_mtime_ns == queue_written  # the queue is written when it changes, not each second


def test_hostile_clients_cost_only_their_own_connection(served):
    served.cli("queue", "add", "--query", ALL)
    bystander = served.raw()
    rng = random.Random(7)
    for _ in range(200):  # random bytes, random JSON, wrong types
        junk = rng.choice([
            bytes(rng.randrange(256) for _ in range(rng.randrange(1, 200))).replace(b"\n", b""),
            json.dumps(rng.choice([[], 3, "x", None, {"cmd": 5}, {"cmd": "seek", "args": {"seconds": "x"}},
                                   {"cmd": "volume", "args": {"value": float("nan")}}, {"cmd": "nope"},
                                   {"cmd": "add", "args": {"paths": ["/etc/shadow/x"]}}])).encode(),
        ])  # fmt: skip
        client = served.raw()
        client.send(junk + b"\n")
        answer = client.reply()
        assert answer["ok"] is False and answer["error"]
        client.close()
    flood = served.raw()
    flood.send(b"x" * (10 * 1024 * 1024) + b"\n")
    assert flood.reply()["error"] == "a request is at most 1048576 bytes; ignored"
    assert flood.ask("status", request_id=2)["ok"]  # the next line is served again
    half = served.raw()
    half.send(b'{"id": 1, "cmd": "sta')
    half.close()  # gone mid-request
    answer = bystander.ask("status", request_id="still here")
    assert (answer["id"], answer["ok"], answer["result"]["queue_length"]) == ("still here", True, 12)
    assert bystander.ask("queue")["result"]["items"][0]["id"] == 1


def test_twenty_clients_a_hundred_commands_each(served):
    served.cli("queue", "add", "--query", ALL)
    clients = [served.raw() for _ in range(20)]
    failures = []

    def hammer(n: int, client) -> None:
        for k in range(100):
            request_id = f"{n}-{k}"
            cmd, args = [("status", {}), ("queue", {}), ("volume", {"value": n})][k % 3]
            answer = client.ask(cmd, request_id=request_id, **args)
            wrong = cmd == "queue" and answer["ok"] and len(answer["result"]["items"]) != 12
            if answer["id"] != request_id or not answer["ok"] or wrong:
                failures.append(answer)

    threads = [threading.Thread(target=hammer, args=(n, c)) for n, c in enumerate(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not any(thread.is_alive() for thread in threads), "a client is stuck: deadlock"
    assert failures == []


def test_only_this_user_may_connect(sink):
    home = Path(tempfile.mkdtemp(prefix="auralis-uid-"))  # outside pytest's 0700 folders: others can reach it
    served = Served(home, sink)
    try:
        _only_this_user(served)
    finally:
        served.stop()
        shutil.rmtree(home)


def _only_this_user(served: Served) -> None:
    served.home.chmod(0o711)
    served.cli("status")
    path = runtime.socket_path(served.home)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    other = """
import os, socket, sys
os.setgid(65534); os.setuid(65534)
s = socket.socket(socket.AF_UNIX)
try:
    s.connect(sys.argv[1])
except PermissionError:
    print("no entry"); raise SystemExit
print(s.makefile().readline().strip())
"""
    run = [sys.executable, "-c", other, str(path)]
    assert subprocess.run(run, capture_output=True, text=True, timeout=60).stdout.strip() == "no entry"
    path.chmod(0o666)  # even when the socket is opened up, the peer's uid is checked
    reply = json.loads(subprocess.run(run, capture_output=True, text=True, timeout=60).stdout)
    assert reply == {"id": None, "ok": False, "error": "refused: another user's client"}


def test_the_server_outlives_a_hangup_and_a_second_server_is_refused(served):
    served.cli("status")
    pid = served.pid()
    os.kill(pid, signal.SIGHUP)
    assert served.status() and served.pid() == pid
    second = served.cli("serve", "--foreground", check=False)
    assert second.returncode == 1 and f"a server already runs for this home (pid {pid})" in second.stderr
    assert "server already running" in served.cli("serve").stdout


def test_the_server_imports_nothing_from_the_folder_it_was_started_from(served, tmp_path):
    """``python -m`` puts the current folder first on the import path: a user's own ``engine``
    package there must not replace the server's, and the server must not hold that folder."""
    project = tmp_path / "project"
    (project / "engine").mkdir(parents=True)
    (project / "engine" / "__init__.py").write_text("raise ImportError('the project in this folder')\n")
    assert served.cli("status", cwd=project).stdout.startswith("■ stopped")
    assert Path(os.readlink(f"/proc/{served.pid()}/cwd")) == served.home


def test_stop_server_and_service_unit(served, tmp_path):
    served.cli("status")
    assert served.cli("stop", "--server").stdout.strip() == "server stopped"
    assert served.pid() is None and not runtime.socket_path(served.home).exists()
    out = served.cli("service", "install", "--unit-dir", str(tmp_path)).stdout
    unit = (tmp_path / "auralis.service").read_text()
    assert f"--home {served.home} serve --foreground" in unit and "ExecStart=/" in unit
    assert "loginctl enable-linger" in out
    assert served.pid() is None  # installing a unit starts nothing


def test_a_damaged_state_file_starts_an_empty_queue(served):
    (served.home / "server-queue.json").write_text('{"version": 2, "items": [{"no": 1}]')  # torn
    assert served.status()["queue_length"] == 0
    assert "starting with an empty queue" in (served.home / "server.log").read_text()


def test_play_n_starts_there_and_consume_drops_what_has_played(served):
    served.cli("queue", "add", "--query", ALL)
    served.cli("mode", "consume", "on")
    started = served.json("play", "11")
    assert (started["pos"], started["title"]) == (10, "Gramophone Waltz")
    now = served.wait_status(lambda s: s["queue_length"] == 11, "track 11 consumed")
    assert (now["pos"], now["title"]) == (10, "Midnight Wire")
    assert "Gramophone Waltz" not in [item["title"] for item in served.json("queue")["items"]]


def test_a_server_without_sound_still_queues_and_rates(served):
    status = json.loads(served.cli("--no-audio", "status", "--json").stdout)  # starts one without a device
    assert (status["audio"], status["message"]) == (False, "sound off (--no-audio)")
    assert served.json("queue", "add", "--query", ALL)["queue_length"] == 12
    refused = served.cli("play", check=False)
    assert refused.returncode == 1 and refused.stderr.strip() == "auralis: sound off (--no-audio)"


def test_the_library_request_lists_what_the_app_shows_with_ratings_made_elsewhere(served):
    """``library``: the rows the app lists (its order, no fingerprints), read again per request
    with the feedback log caught up, so a rating line written by another process is in the next one."""
    from auralis_tui import store
    from auralis_tui.naturalsort import library_order
    from engine.features import FINGERPRINT_VERSION

    served.cli("status")
    expected = library_order(store.library_rows(served.home, FINGERPRINT_VERSION))
    raw = served.raw()
    try:
        listed = raw.ask("library")["result"]
        assert listed == [{k: v for k, v in row.items() if k != "fingerprint"} for row in expected]
        track = next(row for row in listed if row["last_rating"] != 5)["path"]
        line = feedback.make_event(
            "rating", track_path=track, detected_type="studio", confidence=0.9,
            profile={"name": "studio", "version": "2.0"}, parameters_applied={}, rating=5,
        )  # fmt: skip
        feedback.append(served.home, line)  # a line the database lacks (the log is the source of truth)
        assert next(row for row in raw.ask("library")["result"] if row["path"] == track)["last_rating"] == 5
    finally:
        raw.close()


def test_consume_drops_the_last_track_too_and_a_stop_keeps_it(served):
    """As MPD's consume: a track played to its end leaves the queue, the last one included (the
    queue ends empty); a stop command is not an end, so the stopped track stays."""
    served.cli("queue", "add", "--query", ALL)
    served.cli("mode", "consume", "on")
    served.cli("play", "12")
    served.wait_status(lambda s: s["state"] == "playing", "the last track to play")
    served.cli("stop")
    assert served.status()["queue_length"] == 12
    served.cli("play", "12")
    ended = served.wait_status(lambda s: s["state"] == "stopped" and s["queue_length"] == 11, "the last track consumed")
    assert ended["id"] is None and "Midnight Wire" not in [item["title"] for item in queued(served)]
    served.cli("play", "11")  # plays out: 11 is now the last
    served.wait_status(lambda s: s["state"] == "stopped" and s["queue_length"] == 10, "the new last track consumed")


def test_queueing_many_files_leaves_the_server_answering_others(served, tmp_path):
    """10,000 paths in one request are looked up off the event loop: another client's requests are
    answered meanwhile, and the reply and the queue keep the order asked for."""
    track = Path(json.loads(served.cli("sql", ALL, "--format", "json").stdout)[0]["path"])
    many = tmp_path / "many"
    many.mkdir()
    links = [many / f"{n:05d}.flac" for n in range(10_000)]
    for link in links:
        os.link(track, link)
    served.cli("status")
    adder, poller = served.raw(), served.raw()
    try:
        adder.send(json.dumps({"id": 1, "cmd": "add", "args": {"paths": [str(p) for p in links]}}).encode() + b"\n")
        replies: list[dict] = []
        waiting = threading.Thread(target=lambda: replies.append(adder.reply()), daemon=True)
        waiting.start()
        answered = 0
        while waiting.is_alive():
            assert poller.ask("status")["ok"]
            answered += 1
        (reply,) = replies
        assert reply["ok"] and reply["result"]["ids"] == list(range(1, 10_001)), reply.get("error")
        assert answered >= 5, answered  # the event loop went on serving while the files were looked up (else 1-2)
        assert [item["path"] for item in served.json("queue")["items"]] == [str(p) for p in links]
    finally:
        adder.close()
        poller.close()


BENCH_FAILS = """
import importlib.util, sys
from pathlib import Path
spec = importlib.util.spec_from_file_location("bench_server", sys.argv[1])
bench = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bench)

def failing():
    server = bench.Server(Path(sys.argv[2]), Path(sys.argv[3]))
    print(server.process.pid, flush=True)
    raise RuntimeError("a failure mid-run")

bench.run = failing
bench.main()
"""


def test_the_server_benchmark_ends_its_servers_when_it_fails(tmp_path, sink):
    home = tmp_path / "bench-home"
    bench = Path(__file__).resolve().parents[1] / "bench" / "server.py"
    try:
        result = subprocess.run([sys.executable, "-c", BENCH_FAILS, str(bench), str(home), str(sink)],
                                capture_output=True, text=True, timeout=300)  # fmt: skip
        assert result.returncode == 1 and "a failure mid-run" in result.stderr, result.stderr
        assert runtime.running_pid(home) is None  # its server was ended, not left playing
    finally:
        Served(home, sink).stop()
