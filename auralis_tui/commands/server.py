"""``auralis serve`` (the music server of this home) and ``auralis service install`` (a systemd
user unit for it)."""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from .common import UserError, add_command, add_group, home, invocation


def register(commands: argparse._SubParsersAction) -> None:
    serve = add_command(
        commands,
        "serve",
        help="start the music server of this home (the app and control commands start it on demand)",
        description="The server owns the audio device, the queue and the rating writer; the app, the control "
        "commands (status, toggle, queue …) and MPD clients attach to it. It runs detached from the terminal, "
        "so the music keeps playing when the SSH session ends; `auralis stop --server` ends it.",
    )
    serve.add_argument("--foreground", action="store_true", help="stay in this process (for systemd)")
    serve.set_defaults(run=run_serve)
    actions = add_group(commands, "service", help="run the server as a systemd user service")
    install = actions.add_parser("install", help="write a systemd user unit for this home's server")
    install.add_argument("--unit-dir", metavar="DIR", help="where to write it (default ~/.config/systemd/user)")
    install.set_defaults(run=run_service_install)


def run_serve(args: argparse.Namespace) -> int:
    from ..server import runtime

    data = home(args)
    if args.foreground:
        from ..server.daemon import serve

        try:
            serve(data, audio=not args.no_audio)
        except runtime.AlreadyRunning as exc:
            raise UserError(str(exc)) from None
        return 0
    pid = runtime.running_pid(data)
    if pid is None:
        runtime.connect(data, start=True, audio=not args.no_audio).close()
        pid = runtime.running_pid(data)
        print(f"server started (pid {pid}); log: {runtime.log_path(data)}")
    else:
        print(f"server already running (pid {pid})")
    return 0


UNIT = """[Unit]
Description=Auralis music server ({home})
After=sound.target

[Service]
ExecStart={command} --home {home_arg} serve --foreground
Restart=on-failure

[Install]
WantedBy=default.target
"""


def run_service_install(args: argparse.Namespace) -> int:
    import getpass

    data = home(args)
    folder = Path(args.unit_dir).expanduser() if args.unit_dir else Path.home() / ".config/systemd/user"
    folder.mkdir(parents=True, exist_ok=True)
    unit = folder / "auralis.service"
    command = invocation()
    if command == "auralis":
        command = shlex.quote(str(Path(sys.argv[0]).resolve()))  # systemd has its own PATH
    unit.write_text(UNIT.format(home=data, home_arg=shlex.quote(str(data)), command=command))
    print(f"wrote {unit}; now run:")
    print("  systemctl --user daemon-reload && systemctl --user enable --now auralis")
    print(f"  loginctl enable-linger {getpass.getuser()}   # keep it running while you are logged out")
    return 0
