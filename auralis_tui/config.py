"""THE owner of ``config.toml``: user settings read with tomllib, written with tomlkit so the
user's comments and layout survive every change."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .versioned import read_toml, write_atomic

CONFIG_NAME = "config.toml"
_TEMPLATE = """\
# Auralis settings. Edit freely: comments and layout are kept when Auralis changes a value.

# Folders scanned by `auralis scan` (absolute paths).
library_roots = []

# Output device name or index for playback ("" = system default).
audio_device = ""

# Anonymized sharing of profile statistics (off unless you turn it on).
sharing = false

# MPD clients (mpc, ncmpcpp, phone apps) may play, queue and rate through the music server:
# uncomment `listen`. Any address but a loopback one needs a password.
[mpd]
# listen = "127.0.0.1:6600"
# password = ""
"""


class ConfigError(ValueError):
    """config.toml cannot be read; the message names the file and the problem."""


@dataclass(frozen=True)
class Config:
    library_roots: list[str] = field(default_factory=list)
    audio_device: str = ""
    sharing: bool = False
    mpd_listen: str = ""  # "HOST:PORT" ("" = no MPD frontend)
    mpd_password: str = ""


def config_path(home: Path) -> Path:
    return home / CONFIG_NAME


def load_config(home: Path) -> Config:
    """Read ``config.toml`` (created from the template when missing)."""
    path = config_path(home)
    if not path.exists():
        _write(path, _TEMPLATE)
    data = read_toml(path, ConfigError)
    roots = data.get("library_roots", [])
    if not isinstance(roots, list) or not all(isinstance(r, str) for r in roots):
        raise ConfigError(f"{path}: library_roots must be a list of folder paths")
    device = data.get("audio_device", "")
    if isinstance(device, bool) or not isinstance(device, str | int):
        raise ConfigError(f"{path}: audio_device must be a device name or number, not {device!r}")
    sharing = data.get("sharing", False)
    if not isinstance(sharing, bool):  # "false" in quotes must never read as true
        raise ConfigError(f"{path}: sharing must be true or false (without quotes), not {sharing!r}")
    listen, password = _mpd(path, data.get("mpd", {}))
    return Config(roots, str(device), sharing, listen, password)


def _mpd(path: Path, table: object) -> tuple[str, str]:
    """The ``[mpd]`` table: ``listen`` as "HOST:PORT" ("[::1]:6600" for IPv6) and ``password``."""
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [mpd] must be a table with listen and password")
    listen, password = table.get("listen", ""), table.get("password", "")
    if not isinstance(password, str):
        raise ConfigError(f"{path}: [mpd] password must be a text in quotes")
    if not isinstance(listen, str) or (listen and split_address(listen) is None):
        raise ConfigError(f'{path}: [mpd] listen must be "HOST:PORT" such as "127.0.0.1:6600", not {listen!r}')
    return listen, password


def split_address(listen: str) -> tuple[str, int] | None:
    """("host", port) from "host:port" or "[v6]:port"; None when it is not that."""
    host, _, port = listen.rpartition(":")
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if not host or not port.isdigit() or not 0 < int(port) < 65536 or any(c in host for c in "[] "):
        return None
    return host, int(port)


def set_sharing(home: Path, enabled: bool) -> None:
    """Turn anonymized sharing on or off (comments in the file are kept)."""
    import tomlkit

    load_config(home)
    path = config_path(home)
    document = tomlkit.parse(path.read_text(encoding="utf-8"))
    document["sharing"] = enabled
    _write(path, tomlkit.dumps(document))


def add_library_root(home: Path, root: Path) -> bool:
    """Remember ``root`` as a library folder; returns False when it was already known."""
    import tomlkit

    load_config(home)
    path = config_path(home)
    document = tomlkit.parse(path.read_text(encoding="utf-8"))
    roots = document.setdefault("library_roots", tomlkit.array())
    resolved = str(root.resolve())
    if resolved in [str(r) for r in roots]:
        return False
    roots.append(resolved)
    _write(path, tomlkit.dumps(document))
    return True


def _write(path: Path, text: str) -> None:
    """Atomic replace: a crash leaves the old file or the new one, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, text)
