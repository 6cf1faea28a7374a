"""Which tables a logical D1 backup holds, and per-table checksums that a restore can verify
(the dump's SQL text is rs1.backups.store's).

Pure functions: the Worker writes with them, `rs1tools.restore` verifies with them.
"""

import hashlib
import json
from typing import Any

SKIPPED_PREFIXES = ("sqlite_", "_cf_")  # SQLite's and D1's internal tables


# Rows the D1 backup leaves out (their tables' schemas are still in it): telemetry is in the
# hourly R2 archives (verified when written) and its rollups are recomputed from them;
# api_stats is a transient counter. At fleet scale they are also far more rows than one
# invocation may read: D1 allows 1,000 queries per Worker invocation.
# event_attempts is the outbound events' delivery log: diagnostics, not state.
ROWS_ELSEWHERE = frozenset(
    {"telemetry_raw", "telemetry_hourly", "telemetry_dirty", "api_stats", "event_attempts"}
)


def include_table(name: str) -> bool:
    return not name.startswith(SKIPPED_PREFIXES)


def rows_backed_up(name: str) -> bool:
    return include_table(name) and name not in ROWS_ELSEWHERE


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
