import asyncio
import gzip
import sqlite3

from hypothesis import given
from hypothesis import strategies as st

from rs1.backups.dump import TableChecksum
from rs1.backups.job import build_backup
from rs1.backups.store import sql_literal
from rs1.devices.enrollment import EnrollItem, enroll

# SQLite's own float parser is exact for the magnitudes telemetry holds; near the subnormal
# range (|x| < 1e-200) it can be one ULP off, which no SQL text dump can avoid.
floats = st.floats(min_value=-1e200, max_value=1e200).filter(lambda x: x == 0 or abs(x) > 1e-200)
values = st.none() | st.integers(-(2**63), 2**63 - 1) | st.text() | floats


@given(values)
def test_literals_round_trip_through_sqlite(value) -> None:
    conn = sqlite3.connect(":memory:")
    (got,) = conn.execute(f"SELECT {sql_literal(value)}").fetchone()
    assert got == value


def test_backup_restores_to_identical_tables(db) -> None:
    asyncio.run(enroll(db, "k", [EnrollItem(f"AA:BB:CC:00:00:{i:02X}") for i in range(30)], False))
    asyncio.run(
        db.run("INSERT INTO security_log (event_type, details, ip) VALUES ('x', 'it''s', '1')")
    )
    data, manifest = asyncio.run(build_backup(db, "2026-11-22T00:00:00Z"))
    restored = sqlite3.connect(":memory:")
    restored.executescript(gzip.decompress(data).decode())
    restored.row_factory = sqlite3.Row
    for table, expected in manifest["tables"].items():
        checksum = TableChecksum()
        for row in restored.execute(f'SELECT * FROM "{table}" ORDER BY rowid'):
            checksum.add(dict(row))
        assert checksum.result() == expected, table
    assert manifest["tables"]["devices"]["rows"] == 30
