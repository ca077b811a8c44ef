"""`auralis sql --format json|csv|table` renders every type DuckDB returns (values from real DuckDB)."""

from __future__ import annotations

import base64
import csv
import io
import json
import os
import subprocess
import sys

import duckdb
import pytest

from auralis_tui import formats

UUID = "2dfa9b15-b204-4e6b-8f7c-015973e5dc86"
#: SQL expression → (JSON value, table/CSV cell).
CASES = {
    "timestamp": ("TIMESTAMP '2026-01-02 03:04:05.5'", "2026-01-02T03:04:05.500000", "2026-01-02 03:04:05.500000"),
    "timestamptz": ("TIMESTAMPTZ '2026-01-02 03:04:05+00'", "2026-01-02T03:04:05+00:00", "2026-01-02 03:04:05+00:00"),
    "date": ("DATE '2026-01-02'", "2026-01-02", "2026-01-02"),
    "time": ("TIME '03:04:05'", "03:04:05", "03:04:05"),
    "interval": ("INTERVAL 1 DAY + INTERVAL 90 MINUTE + INTERVAL 500 MILLISECOND", "P1DT1H30M0.5S", "P1DT1H30M0.5S"),
    "list": ("[1, 2, NULL]", [1, 2, None], "[1, 2, null]"),
    "fixed array": ("[1, 2]::INTEGER[2]", [1, 2], "[1, 2]"),
    "struct": ("{'a': 1, 'b': ['x']}", {"a": 1, "b": ["x"]}, '{"a": 1, "b": ["x"]}'),
    "map": ("MAP {1: DATE '2026-01-02'}", {"1": "2026-01-02"}, '{"1": "2026-01-02"}'),
    "decimal": ("12.345::DECIMAL(10,3)", 12.345, "12.345"),
    "blob": (r"'a\x5Cb\x00\xFF'::BLOB", base64.b64encode(b"a\\b\x00\xff").decode(), r"a\x5Cb\x00\xFF"),
    "null": ("NULL", None, "NULL"),
    "uuid": (f"'{UUID}'::UUID", UUID, UUID),
    "nan": ("'nan'::DOUBLE", None, "nan"),
    "boolean": ("true", True, "true"),
    "hugeint": (f"{2**127 - 1}::HUGEINT", 2**127 - 1, str(2**127 - 1)),
    "text": ("'naïve, \"quoted\"'", 'naïve, "quoted"', 'naïve, "quoted"'),
}


def duckdb_value(expression: str) -> object:
    return duckdb.connect().execute(f"SELECT {expression}").fetchone()[0]


def rendered(fmt: str, value: object) -> str:
    out = io.StringIO()
    formats.write(["v"], [(value,)], fmt, out)
    return out.getvalue()


@pytest.mark.parametrize("kind", list(CASES))
def test_json(kind):
    expression, expected, _ = CASES[kind]
    assert json.loads(rendered("json", duckdb_value(expression))) == [{"v": expected}]


@pytest.mark.parametrize("kind", list(CASES))
def test_csv(kind):
    expression, _, cell = CASES[kind]
    rows = list(csv.reader(io.StringIO(rendered("csv", duckdb_value(expression)))))
    assert rows == [["v"], ["" if kind == "null" else cell]]  # CSV's NULL is an empty field


@pytest.mark.parametrize("kind", list(CASES))
def test_table(kind):
    expression, _, cell = CASES[kind]
    header, rule, row, count = rendered("table", duckdb_value(expression)).splitlines()
    assert (header.strip(), row, count) == ("v", cell, "(1 row)")
    assert len(rule) == max(1, len(cell))


def test_table_columns_line_up_in_terminal_cells():
    """CJK titles take two cells a character, a combining accent none: the next column still starts
    in the same terminal column on every line."""
    rows = [["夜の曲", 1], ["Cafe\u0301 Noir", 2], ["Plain", 3]]
    out = io.StringIO()
    formats.write_table(["title", "n"], rows, out)
    lines = out.getvalue().splitlines()
    starts = {formats.cells_wide(line[: line.rindex(str(n))]) for line, (_, n) in zip(lines[2:5], rows, strict=True)}
    assert starts == {formats.cells_wide(lines[0][: lines[0].index("n", 5)])}  # the header's n column
    assert lines[1].split()[0] == "-" * 9  # the widest title: "Café Noir", 9 cells ("夜の曲" is 6)


def test_negative_and_zero_intervals():
    assert formats.iso_duration(duckdb_value("INTERVAL 0 SECOND")) == "PT0S"
    assert formats.iso_duration(duckdb_value("-INTERVAL 2 HOUR")) == "-PT2H"
    assert formats.iso_duration(duckdb_value("INTERVAL 3 DAY")) == "P3D"


def test_sql_command_renders_every_format(tmp_path):
    """The reported crash: rows holding timestamps (as `tracks` does) printed as JSON."""
    env = {**os.environ, "AURALIS_HOME": str(tmp_path)}
    query = "SELECT 1 AS n, TIMESTAMP '2026-01-02 03:04:05' AS at, 'x'::BLOB AS raw, [DATE '2026-01-02'] AS days"
    shown = {}
    for fmt in formats.FORMATS:
        result = subprocess.run([sys.executable, "-m", "auralis_tui", "sql", query, "--format", fmt],
                                capture_output=True, text=True, env=env)  # fmt: skip
        assert result.returncode == 0 and not result.stderr, result.stderr
        shown[fmt] = result.stdout
    assert json.loads(shown["json"]) == [{"n": 1, "at": "2026-01-02T03:04:05", "raw": "eA==", "days": ["2026-01-02"]}]
    assert shown["csv"].splitlines() == ["n,at,raw,days", '1,2026-01-02 03:04:05,x,"[""2026-01-02""]"']
    assert shown["table"].splitlines()[2].split() == ["1", "2026-01-02", "03:04:05", "x", '["2026-01-02"]']
