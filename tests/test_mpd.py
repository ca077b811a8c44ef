"""The MPD frontend, driven by the real `mpc` and by python-mpd2 (neither shares code with it),
plus raw sockets for concurrency and hostile input. Each test's server listens on its own free port;
the ALSA file sink is the audio device."""

from __future__ import annotations

import contextlib
import json
import random
import threading

import mpd as mpd2
import pytest

from auralis_tui import abtest
from auralis_tui.server import catalog, mpd
from auralis_tui.server.mpd_commands import stars

from served import MPDServed, configure


@pytest.fixture
def served(home, sink):
    served = MPDServed(home, sink)
    served.cli("serve")  # returns once the server answers; MPD listens before that
    yield served
    served.stop()


def answer(lines) -> list[bytes]:
    """One command's answer lines, up to and including OK or ACK."""
    out = []
    while True:
        line = lines.readline()
        if not line:
            raise AssertionError(f"connection closed after {out}")
        out.append(line)
        if line == b"OK\n" or line.startswith(b"ACK "):
            return out


def test_mpc_plays_queues_and_browses(served):
    assert served.mpc("ls").splitlines()[:2] == ["01 Glass Horizon.flac", "02 Prism.flac"]
    served.mpc("add", "")  # the whole library
    assert served.status()["queue_length"] == 12  # seen through the app's own protocol
    assert served.mpc("-f", "%title%", "search", "title", "PRISM").split() == ["Prism"]
    assert served.mpc("-f", "%file%", "find", "artist", "Northlight").splitlines()[0] == "01 Glass Horizon.flac"
    assert "Northlight" in served.mpc("list", "artist").splitlines()

    served.mpc("play", "2")
    served.wait_status(lambda s: s["state"] == "playing" and s["title"] == "Prism", "Prism to play")
    served.mpc("pause")
    assert served.status()["state"] == "paused"
    served.mpc("seek", "0:10")
    at = served.status()
    assert at["state"] == "paused" and at["position"] == pytest.approx(10, abs=0.1)
    assert "[paused]  #2/12   0:10/" in served.mpc("status")
    served.mpc("next")
    assert served.status()["title"] == "Velvet Room"
    assert served.mpc("-f", "%artist% - %title%", "current").strip() == "The Quiet Hours - Velvet Room"
    served.mpc("volume", "40")
    assert served.status()["volume"] == 40 and "volume: 40%" in served.mpc("status")
    served.mpc("repeat", "on")
    assert served.status()["modes"]["repeat"]

    served.mpc("move", "3", "1")  # the playing track moves to the top and keeps playing
    assert served.status()["pos"] == 0
    served.mpc("del", "2")
    titles = [item["title"] for item in served.json("queue")["items"]]
    assert titles[:3] == ["Velvet Room", "Prism", "Paper Boats"] and len(titles) == 11
    served.mpc("clear")
    assert served.status()["queue_length"] == 0


def test_a_rating_sticker_is_a_rating_with_the_tracks_variant(served):
    abtest.start(served.home, "studio-bass", "studio@2.0", "studio@2.1")
    served.cli("queue", "add", "--query", "SELECT path FROM tracks WHERE type = 'studio' ORDER BY path")
    served.mpc("play")
    served.wait_status(lambda s: s["state"] == "playing" and s["info"], "a studio track to play")
    now = served.json("pause")
    uri = served.mpc("-f", "%file%", "current").strip()
    assert now["path"].endswith("/" + uri)

    before = len(served.feedback())
    served.mpc("sticker", uri, "set", "rating", "8")
    (line,) = served.feedback()[before:]
    assert (line["event"], line["rating"], line["track_path"], line["heard"]) == ("rating", 4, now["path"], "mastered")
    assert (line["test_id"], line["variant"]) == ("studio-bass", now["info"]["variant"])
    assert line["profile"]["version"] == now["info"]["profile_version"]
    assert served.mpc("sticker", uri, "get", "rating").strip() == "rating=8"

    served.mpc("sticker", uri, "delete", "rating")  # withdraws that rating
    (undo,) = served.feedback()[before + 1 :]
    assert (undo["event"], undo["refers_to"]) == ("undo", line["id"])
    assert "no such sticker" in served.mpc("sticker", uri, "get", "rating", check=False)
    refused = served.mpc("sticker", uri, "set", "rating", "11", check=False)
    assert "0 to 10" in refused and len(served.feedback()) == before + 2


def test_stars_from_the_zero_to_ten_scale():
    assert [stars(n) for n in range(11)] == [1, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5]


def test_python_mpd2_command_lists_and_idle(served):
    watcher, actor = served.client(), served.client()
    actor.add("")
    assert len(actor.playlistinfo()) == 12 and actor.playlistinfo()[0]["title"] == "Glass Horizon"
    actor.command_list_ok_begin()
    actor.status()
    actor.setvol(30)
    actor.currentsong()
    status, _, current = actor.command_list_end()
    assert status["playlistlength"] == "12" and current == {}
    assert watcher.idle("mixer") == ["mixer"]  # the setvol above, remembered until asked
    woken = []
    waiting = threading.Thread(target=lambda: woken.append(watcher.idle("playlist", "player")))
    waiting.start()
    actor.delete(0)
    waiting.join(60)
    assert woken == [["playlist"]]
    quiet = served.mpd_socket()
    quiet.sendall(b"idle\nnoidle\n")  # noidle ends an idle with nothing to report
    assert answer(quiet.makefile("rb")) == [b"OK\n"]
    actor.play(0)
    assert watcher.idle("player") == ["player"]
    with pytest.raises(mpd2.CommandError, match="No such song"):
        actor.addid("nowhere.flac")
    with pytest.raises(mpd2.CommandError, match="Bad song index"):
        actor.playlistinfo(40)
    assert actor.status()["volume"] == "30"
    for client in (watcher, actor):
        client.close()


def test_a_rating_from_any_client_moves_the_sticker_and_wakes_sticker_idle(served):
    served.mpc("add", "")
    served.mpc("play", "1")
    served.wait_status(lambda s: s["state"] == "playing", "playback")
    served.json("pause")
    watcher, woken = served.client(), []
    waiting = threading.Thread(target=lambda: woken.append(watcher.idle("sticker")))
    waiting.start()
    served.cli("rate", "2")  # the CLI, not MPD
    waiting.join(60)
    assert woken == [["sticker"]]
    assert watcher.sticker_get("song", "01 Glass Horizon.flac", "rating") == "4"
    watcher.close()


def test_non_loopback_needs_a_password(home, sink):
    served = MPDServed(home, sink)
    configure(home, f"0.0.0.0:{served.port}")
    refused = served.cli("serve", "--foreground", check=False)
    assert refused.returncode == 1 and served.pid() is None
    (said,) = refused.stderr.strip().splitlines()
    assert said.startswith(f"auralis: MPD on 0.0.0.0:{served.port} needs a password")
    configure(home, f"0.0.0.0:{served.port}", password="s3cret")
    try:
        served.cli("serve")
        assert "you don't have permission" in served.mpc("status", check=False)
        served.mpc("add", "", host="wrong@127.0.0.1", check=False)
        assert served.status()["queue_length"] == 0
        served.mpc("add", "", host="s3cret@127.0.0.1")
        assert served.status()["queue_length"] == 12
    finally:
        served.stop()


def test_twenty_clients_a_hundred_commands_each(served):
    served.mpc("add", "")
    failures = []

    def hammer(n: int) -> None:
        sock = served.mpd_socket()
        lines = sock.makefile("rb")
        for k in range(100):
            command = ["status", "playlistinfo", f"setvol {n}", "ping"][k % 4]
            sock.sendall(command.encode() + b"\n")
            reply = answer(lines)
            ok = reply[-1] == b"OK\n"
            if command == "playlistinfo":
                ok = ok and sum(line.startswith(b"file: ") for line in reply) == 12
            if command == "status":
                ok = ok and b"playlistlength: 12\n" in reply
            if not ok:
                failures.append((command, reply))
        sock.close()

    threads = [threading.Thread(target=hammer, args=(n,)) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not any(thread.is_alive() for thread in threads), "a client is stuck: deadlock"
    assert failures == []


WORDS = ["status", "play", "playid", "pause", "seek", "seekcur", "setvol", "add", "addid", "delete", "move",
         "playlistinfo", "lsinfo", "find", "search", "list", "count", "sticker", "password", "idle", "noidle",
         "command_list_begin", "command_list_end", "repeat", "deleteid", "plchanges", "tagtypes", "nope"]  # fmt: skip
ARGS = ["", "0", "-1", "1:3", "99999999999999999999", "nan", "inf", "+3", "\"", '"a b"', "'x'", "(",
        "(artist == 'x')", "(!(title contains 'a'))", "((base '') AND (file =~ '['))", "song", "rating", "get", "set",
        "01 Glass Horizon.flac",
        "\\", "\x00", "é", "artist", "group", "window", "sort"]  # fmt: skip


def test_random_input_gets_ack_lines_never_a_crash(served):
    served.mpc("add", "")
    rng = random.Random(15)
    bystander = served.mpd_socket()
    bystander_lines = bystander.makefile("rb")
    for _ in range(40):
        sock = served.mpd_socket()
        for _ in range(50):
            if rng.random() < 0.2:
                junk = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 80))).replace(b"\n", b"")
            else:
                words = [rng.choice(WORDS)] + [rng.choice(ARGS) for _ in range(rng.randrange(4))]
                junk = " ".join(words).encode()
            try:
                sock.sendall(junk + b"\n")
            except OSError:  # closed by the server (close, or a command while idle), as MPD does
                sock.close()
                sock = served.mpd_socket()
        sock.close()  # gone with answers unread
    flood = served.mpd_socket()
    flood_lines = flood.makefile("rb")
    flood.sendall(b"x" * (10 * 1024 * 1024) + b"\nping\n")
    assert answer(flood_lines)[-1].startswith(b"ACK [2@0] {} a command line is at most")
    assert answer(flood_lines) == [b"OK\n"]
    bystander.sendall(b"status\nplaylistinfo\n")
    status, listing = answer(bystander_lines), answer(bystander_lines)
    files = sum(line.startswith(b"file: ") for line in listing)
    assert status[-1] == listing[-1] == b"OK\n" and f"playlistlength: {files}\n".encode() in status
    assert "internal error" not in (served.home / "server.log").read_text()


def test_the_parsers_only_ever_refuse_with_their_own_error():
    rng = random.Random(3)
    alphabet = "()'\"\\ !=~ANDbasetilcon_wrsh é\t"
    for _ in range(5000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randrange(30)))
        with contextlib.suppress(mpd.Ack):
            mpd.split(text)
        with contextlib.suppress(catalog.FilterError):
            catalog.Expression("(" + text, exact=rng.random() < 0.5)


def test_bad_commands_get_one_ack_and_the_connection_stays(served):
    sock = served.mpd_socket()
    lines = sock.makefile("rb")
    sock.sendall(b"setvol 200\n")
    assert answer(lines) == [b"ACK [2@0] {setvol} Invalid volume value\n"]
    sock.sendall(b'lsinfo "no such\n')
    assert answer(lines) == [b"ACK [2@0] {} missing closing '\"'\n"]
    sock.sendall(b"command_list_ok_begin\nping\nbogus 1\nclear\ncommand_list_end\n")
    assert answer(lines) == [b"list_OK\n", b'ACK [5@1] {bogus} unknown command "bogus"\n']
    sock.sendall(b"ping\n")
    assert answer(lines) == [b"OK\n"]


def test_uris_are_relative_to_the_folder_that_holds_the_roots():
    rows = [{"path": "/m/a/x/1.flac", "root": "/m/a", "title": "One\nline"}, {"path": "/m/b/2.flac", "root": "/m/b"}]
    found = catalog.Catalog(rows)
    assert [song.uri for song in found.songs] == ["a/x/1.flac", "b/2.flac"]
    assert found.song("/m/a/x/1.flac") is found.song("file:///m/a/x/1.flac") is found.song("a/x/1.flac")
    assert found.listing("", recursive=False) == ["a", "b"]
    assert [e if isinstance(e, str) else e.uri for e in found.listing("a", recursive=True)] == ["a/x", "a/x/1.flac"]
    assert found.songs[0].tags["Title"] == "One line"
    songs, rest = found.matching(["(file starts_with 'b/')", "window", "0:1"], exact=True)
    assert [song.uri for song in songs] == ["b/2.flac"] and rest == ["window", "0:1"]
    assert json.dumps(catalog.Catalog([]).listing("", False)) == "[]"
