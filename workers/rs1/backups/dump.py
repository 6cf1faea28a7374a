"""SQL text for a logical D1 backup, and per-table checksums that a restore can verify.

Pure functions: the Worker writes with them, `rs1tools.restore` verifies with them.
"""

import hashlib
import json
import math
from collections.abc import Iterable
from typing import Any

SKIPPED_PREFIXES = ("sqlite_", "_cf_")  # SQLite's and D1's internal tables


# Rows the D1 backup leaves out (their tables' schemas are still in it): telemetry is in the
# hourly R2 archives (verified when written) and its rollups are recomputed from them;
# api_stats is a transient counter. At fleet scale they are also far more rows than one
# invocation may read: D1 allows 1,000 queries per Worker invocation.
ROWS_ELSEWHERE = frozenset({"telemetry_raw", "telemetry_hourly", "telemetry_dirty", "api_stats"})


def include_table(name: str) -> bool:
    return not name.startswith(SKIPPED_PREFIXES)


def rows_backed_up(name: str) -> bool:
    return include_table(name) and name not in ROWS_ELSEWHERE


def sql_literal(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"cannot back up a non-finite REAL: {value!r}")
        return repr(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return f"X'{bytes(value).hex()}'"
    text = str(value)
    if "\x00" in text:  # SQL text cannot hold NUL: spell the bytes out
        return f"CAST(X'{text.encode().hex()}' AS TEXT)"
    return "'" + text.replace("'", "''") + "'"


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def insert_sql(table: str, columns: list[str], rows: Iterable[dict[str, Any]]) -> str:
    cols = ", ".join(quote_ident(c) for c in columns)
    lines = []
    for row in rows:
        values = ", ".join(sql_literal(row[c]) for c in columns)
        lines.append(f"INSERT INTO {quote_ident(table)} ({cols}) VALUES ({values});\n")
    return "".join(lines)


def canonical(value: Any) -> Any:
    # D1 returns a REAL holding 1.0 as 1: compare numbers by value, not by type.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    return value


class TableChecksum:
    """sha256 over the table's rows in rowid order, each as canonical JSON."""

    def __init__(self) -> None:
        self.hash = hashlib.sha256()
        self.rows = 0

    def add(self, row: dict[str, Any]) -> None:
        line = json.dumps({k: canonical(v) for k, v in row.items()}, sort_keys=True)
        self.hash.update(line.encode() + b"\n")
        self.rows += 1

    def result(self) -> dict[str, Any]:
        return {"rows": self.rows, "sha256": self.hash.hexdigest()}
