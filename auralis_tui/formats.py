"""Query results as text: an aligned table, CSV or JSON, for every type DuckDB returns.

DuckDB hands Python ``datetime``/``date``/``time``, ``timedelta`` (INTERVAL), ``Decimal``,
``bytes`` (BLOB), ``UUID``, lists, dicts (STRUCT, MAP) and None (NULL). JSON gets ISO-8601 times,
ISO-8601 durations, decimals as numbers, blobs as base64, NaN/±inf as null. Table and CSV cells
get the same text except blobs (DuckDB's own ``\\xHH`` escapes), nested values (compact JSON),
booleans (``true``/``false``) and NULL (``NULL`` in a table, an empty field in CSV).
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import math
import re
import unicodedata
from collections.abc import Sequence
from decimal import Decimal
from typing import TextIO

FORMATS = ("table", "csv", "json")


def iso_duration(delta: dt.timedelta) -> str:
    """An INTERVAL as an ISO-8601 duration: ``P1DT2H30M``, ``-PT0.5S``, ``PT0S``."""
    sign = "-" if delta < dt.timedelta(0) else ""
    delta = abs(delta)
    hours, rest = divmod(delta.seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    secs = f"{seconds}.{delta.microseconds:06d}".rstrip("0").rstrip(".") if delta.microseconds else str(seconds)
    time = "".join(f"{n}{unit}" for n, unit in ((hours, "H"), (minutes, "M")) if n)
    time += f"{secs}S" if seconds or delta.microseconds else ""
    days = f"{delta.days}D" if delta.days else ""
    if not days and not time:
        time = "0S"
    return f"{sign}P{days}{'T' + time if time else ''}"


def blob_text(data: bytes) -> str:
    """A BLOB as DuckDB prints it: printable ASCII as is, every other byte as ``\\xHH``."""
    return "".join(chr(b) if 32 <= b < 127 and b != 0x5C else f"\\x{b:02X}" for b in data)


def json_value(value: object) -> object:
    """``value`` as something ``json.dump`` writes as standard JSON."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Decimal):
        return json_value(float(value))
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return iso_duration(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, dict):
        return {_key(k): json_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_value(v) for v in value]
    return str(value)  # UUID, BIT, …: their canonical text


def _key(key: object) -> str:
    converted = json_value(key)
    return converted if isinstance(converted, str) else json.dumps(converted)


_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")  # C0, DEL, C1, bidi overrides


def printable(text: str) -> str:
    """``text`` safe for a terminal: control characters (ESC, OSC, bidi overrides…) as ``\\xNN``
    or ``\\uNNNN`` escapes, so a hostile tag can never drive the user's terminal."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m[0]):02x}" if ord(m[0]) < 0x100 else f"\\u{ord(m[0]):04x}", text)


def text_value(value: object, null: str = "NULL") -> str:
    """``value`` as one table or CSV cell (control characters escaped)."""
    if value is None:
        return null
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, bytes | bytearray | memoryview):
        return blob_text(bytes(value))
    if isinstance(value, dict | list | tuple):
        return printable(json.dumps(json_value(value), ensure_ascii=False))
    if isinstance(value, dt.timedelta):
        return iso_duration(value)
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    return printable(str(value))


def write_json(data: object, out: TextIO) -> None:
    json.dump(json_value(data), out, indent=2, allow_nan=False)
    out.write("\n")


def cells_wide(text: str) -> int:
    """Terminal cells ``text`` takes: East Asian wide and fullwidth characters two, combining marks none."""
    return sum(0 if unicodedata.combining(c) else 2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def write_table(columns: Sequence[str], rows: Sequence[Sequence[object]], out: TextIO) -> None:
    """Columns padded to the terminal cells their text takes (曲 is two, é written e + ◌́ is one)."""
    columns = [printable(c) for c in columns]
    cells = [[text_value(v) for v in row] for row in rows]
    widths = [max([cells_wide(c)] + [cells_wide(r[i]) for r in cells]) for i, c in enumerate(columns)]

    def line(values: Sequence[str]) -> str:
        return "  ".join(v + " " * (w - cells_wide(v)) for v, w in zip(values, widths, strict=True)).rstrip() + "\n"

    out.write(line(columns))
    out.write("  ".join("-" * w for w in widths) + "\n")
    for row in cells:
        out.write(line(row))
    out.write(f"({len(rows)} row{'s' if len(rows) != 1 else ''})\n")


def write(columns: Sequence[str], rows: Sequence[Sequence[object]], fmt: str, out: TextIO) -> None:
    """Rows in one of :data:`FORMATS`: JSON is a list of objects keyed by column."""
    if fmt == "json":
        write_json([dict(zip(columns, row, strict=True)) for row in rows], out)
    elif fmt == "csv":
        import csv

        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(map(printable, columns))
        writer.writerows([text_value(v, null="") for v in row] for row in rows)
    elif fmt == "table":
        write_table(columns, rows, out)
    else:
        raise ValueError(f"unknown format {fmt!r}; one of {', '.join(FORMATS)}")
