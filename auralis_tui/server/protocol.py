"""THE owner of the control protocol's wire format: one JSON object per line, UTF-8.

- The server greets each client: ``{"hello": "auralis", "protocol": 1, "version": "…"}``.
- A request: ``{"id": 7, "cmd": "seek", "args": {"seconds": -5, "relative": true}}`` (``id`` is the
  client's, any JSON number or string; ``args`` may be left out).
- Its response: ``{"id": 7, "ok": true, "result": …}`` or ``{"id": 7, "ok": false, "error": "…"}``.
- After ``{"cmd": "subscribe"}`` the server also pushes events: ``{"event": "position", "data": …}``.

A line longer than ``MAX_LINE`` bytes is read to its end and refused; any bad line gets
one error response, and the connection stays open.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field

PROTOCOL = 1
MAX_LINE = 1 << 20  # a request holds at most this many bytes (a page of paths to queue)


class ProtocolError(ValueError):
    """A line that is not a valid request; the message says what is wrong."""


@dataclass(frozen=True)
class Request:
    id: object
    cmd: str
    args: dict = field(default_factory=dict)


def _no_constants(name: str) -> float:
    raise ProtocolError(f"{name} is not a number JSON allows")


def parse_request(line: bytes) -> Request:
    try:
        data = json.loads(line, parse_constant=_no_constants)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise ProtocolError(f"not a JSON line: {str(exc)[:80]}") from None
    if not isinstance(data, dict):
        raise ProtocolError("a request is a JSON object")
    request_id = data.get("id")
    if request_id is not None and (isinstance(request_id, bool) or not isinstance(request_id, int | float | str)):
        raise ProtocolError("id is a number or a string")
    cmd, args = data.get("cmd"), data.get("args", {})
    if not isinstance(cmd, str) or not cmd:
        raise ProtocolError("cmd names a command")
    if not isinstance(args, dict):
        raise ProtocolError("args is a JSON object")
    return Request(request_id, cmd, args)


def encode(message: dict) -> bytes:
    return json.dumps(message, ensure_ascii=False, separators=(",", ":"), default=str).encode() + b"\n"


def request_line(request_id: object, cmd: str, args: dict | None = None) -> bytes:
    return encode({"id": request_id, "cmd": cmd, "args": args or {}})


def ok(request_id: object, result: object = None) -> bytes:
    return encode({"id": request_id, "ok": True, "result": result})


def error(request_id: object, message: str) -> bytes:
    return encode({"id": request_id, "ok": False, "error": message})


def event(name: str, data: object) -> bytes:
    return encode({"event": name, "data": data})


def hello(version: str) -> bytes:
    return encode({"hello": "auralis", "protocol": PROTOCOL, "version": version})


# --- argument checks shared by every command --------------------------------------------------


def number(args: dict, name: str, default: float | None = None) -> float:
    value = args.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ProtocolError(f"{name} must be a finite number")
    return float(value)


def integer(args: dict, name: str, default: int | None = None) -> int:
    value = args.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ProtocolError(f"{name} must be a whole number")
    return value


def text(args: dict, name: str, default: str | None = None, limit: int = 4096) -> str:
    value = args.get(name, default)
    if not isinstance(value, str) or len(value) > limit:
        raise ProtocolError(f"{name} must be a text of at most {limit} characters")
    return value


def flag(args: dict, name: str, default: bool = False) -> bool:
    value = args.get(name, default)
    if not isinstance(value, bool):
        raise ProtocolError(f"{name} must be true or false")
    return value


def optional(args: dict, name: str, check, *extra):
    """``check(args, name, …)`` when ``name`` is given and not null, else None."""
    return None if args.get(name) is None else check(args, name, *extra)
