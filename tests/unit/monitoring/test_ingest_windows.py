"""The ingest-rate alert counts telemetry in every shard, not only the main database's."""

import asyncio

from helpers import fresh_db
from rs1.monitoring.job import WINDOW_MS, _ingest_windows
from rs1.storage.shards import Shards, shard_of
from rs1.telemetry.ingest import RawRow
from rs1.telemetry.store import store_rows

NOW = 1_800_000_000_000


def test_windows_sum_over_shards() -> None:
    shards = Shards([fresh_db(), fresh_db()])
    devices = [f"{i:032x}" for i in range(40)]
    assert {shard_of(d, 2) for d in devices} == {0, 1}  # both shards hold some
    rows = [
        RawRow(d, f"m{n}", "health", "t", NOW - n * WINDOW_MS, NOW - n * WINDOW_MS - 1, "{}")
        for d in devices
        for n in range(3)
    ]
    asyncio.run(store_rows(shards, rows))
    counts = asyncio.run(_ingest_windows(shards, NOW - 3 * WINDOW_MS, NOW))
    assert sum(counts.values()) == len(rows)
    assert sorted(counts.values()) == [40, 40, 40]
