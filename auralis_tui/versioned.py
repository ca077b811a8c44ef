"""A folder of numbered TOML versions with a ``CURRENT`` pointer — the storage shared by the
profile store and the personal layer. Files are written atomically and never rewritten."""

from __future__ import annotations

import os
import subprocess
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from engine.errors import ProfileError

CURRENT = "CURRENT"


def read_toml(path: Path, error: type[Exception] = ProfileError) -> dict:
    """A TOML file's table; anything that stops it (not UTF-8, a syntax error, nesting too deep to
    parse, unreadable) is one ``error`` naming the file."""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise error(f"{path}: not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise error(f"{path}: invalid TOML ({exc})") from None
    except RecursionError:
        raise error(f"{path}: invalid TOML (nested too deeply)") from None
    except OSError as exc:
        raise error(f"{path}: {exc.strerror or exc}") from None


def version_key(version: str) -> tuple[int, ...]:
    """``1.10`` sorts after ``1.9``."""
    try:
        return tuple(int(part) for part in version.split("."))
    except ValueError:
        raise ProfileError(f"version '{version}' is not like 1.0 or 1.12") from None


def next_version(version: str) -> str:
    major, minor = version_key(version)[:2]
    return f"{major}.{minor + 1}"


class VersionFolder:
    """``<folder>/<version>.toml`` files and ``<folder>/CURRENT``."""

    def __init__(self, folder: Path, label: str) -> None:
        self.folder = folder
        self.label = label  # how errors name it, e.g. "studio" or "personal layer"

    def exists(self) -> bool:
        return (self.folder / CURRENT).exists()

    def versions(self) -> list[str]:
        return sorted((p.stem for p in self.folder.glob("*.toml")), key=version_key)

    def current(self) -> str:
        return (self.folder / CURRENT).read_text(encoding="utf-8").strip()

    def path(self, version: str) -> Path:
        path = self.folder / f"{version}.toml"
        if not path.exists():
            raise ProfileError(f"{self.label} has no version {version} (versions: {', '.join(self.versions())})")
        return path

    def next(self) -> str:
        return next_version(self.versions()[-1])

    def add(self, version: str, text: str) -> Path:
        """Write a new version and make it current (the old files are never touched)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / f"{version}.toml"
        if path.exists():
            raise ProfileError(f"{self.label} {version} already exists")
        write_atomic(path, text)
        write_atomic(self.folder / CURRENT, version + "\n")
        return path


def stamp(document, version: str, parent: str, reason: str) -> None:
    """Set the identity keys every version carries."""
    document["version"] = version
    document["parent"] = parent
    document["created"] = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    document["reason"] = reason.strip()


def write_atomic(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` all at once (see :func:`write_atomic_stream`)."""
    with write_atomic_stream(path) as handle:
        handle.write(text)


@contextmanager
def write_atomic_stream(path: Path) -> Iterator[TextIO]:
    """A text file to write that replaces ``path`` only once complete and fsynced: a crash leaves
    the old file or the new one, and a failed write (a full disk) removes its temporary file."""
    partial = path.with_name(f".{path.name}.partial")
    try:
        with open(partial, "w", encoding="utf-8") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(partial, path)
    except OSError as exc:  # name the file the user asked for, not the temporary one
        raise OSError(exc.errno, exc.strerror or str(exc), str(path)) from None
    finally:
        partial.unlink(missing_ok=True)


def git_commit(root: Path, message: str) -> bool:
    """Commit ``root`` when it is in a git work tree; False when it is not (or git is absent)."""
    git = ["git", "-C", str(root)]
    try:
        inside = subprocess.run([*git, "rev-parse", "--is-inside-work-tree"], capture_output=True, text=True)
        if inside.stdout.strip() != "true":
            return False
        subprocess.run([*git, "add", "-A", "."], check=True, capture_output=True)
        subprocess.run([*git, "commit", "-q", "-m", message, "--", "."], check=True, capture_output=True)
    except (OSError, subprocess.CalledProcessError):
        return False
    return True
