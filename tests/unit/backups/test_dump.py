import asyncio
import gzip
import math
import random
import sqlite3
import struct

from hypothesis import given
from hypothesis import strategies as st

from rs1.backups.dump import TableChecksum
from rs1.backups.job import build_backup
from rs1.backups.store import sql_literal
from rs1.devices.enrollment import EnrollItem, enroll

# Every finite double, subnormals included: REALs are written as exact binary fractions, since
# SQLite's decimal parser misreads some (3.40: about 0.5% of random doubles).
floats = st.floats(allow_nan=False, allow_infinity=False)
values = st.none() | st.integers(-(2**63), 2**63 - 1) | st.text() | floats


@given(values)
def test_literals_round_trip_through_sqlite(value) -> None:
    conn = sqlite3.connect(":memory:")
    (got,) = conn.execute(f"SELECT {sql_literal(value)}").fetchone()
    assert got == value
    if isinstance(value, float):  # -0.0 stays negative
        assert math.copysign(1, got) == math.copysign(1, value)


def test_any_bit_pattern_of_a_double_replays_bit_for_bit() -> None:
    conn, rng = sqlite3.connect(":memory:"), random.Random(20261129)
    doubles = (
        struct.unpack("<d", rng.getrandbits(64).to_bytes(8, "little"))[0] for _ in range(20_000)
    )
    finite = [d for d in doubles if math.isfinite(d)]
    wrong = [d for d in finite if conn.execute(f"SELECT {sql_literal(d)}").fetchone()[0] != d]
    assert not wrong, wrong[:5]
    assert sql_literal(-73.25) == "(CAST(-293 AS REAL) / 4)" and sql_literal(-0.0) == "-0.0"


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
