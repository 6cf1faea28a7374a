"""The daily D1 backup stays within one invocation's D1 queries, and leaves out the rows that
live elsewhere (telemetry in R2 archives)."""

import asyncio
import gzip

import pytest

from helpers import enroll_one
from rs1.backups import job


def test_telemetry_rows_are_left_out_but_their_schema_is_kept(db) -> None:
    enroll_one(db, "AA:BB:CC:00:09:01")
    asyncio.run(
        db.run(
            "INSERT INTO telemetry_raw (device_id, message_id, kind, topic, ts, received_at, "
            "hour, payload) VALUES ('d', 'm', 'health', 't', 1, 1, 0, '{}')"
        )
    )
    data, manifest = asyncio.run(job.build_backup(db, "2026-11-28T00:00:00Z"))
    sql = gzip.decompress(data).decode()
    assert "CREATE TABLE telemetry_raw" in sql and 'INSERT INTO "telemetry_raw"' not in sql
    assert "telemetry_raw" not in manifest["tables"]
    assert manifest["tables"]["devices"]["rows"] == 1


def test_a_backup_that_needs_too_many_queries_stops_with_an_error(db, monkeypatch) -> None:
    for i in range(5):
        enroll_one(db, f"AA:BB:CC:00:09:1{i}")
    monkeypatch.setattr(job, "PAGE", 1)
    monkeypatch.setattr(job, "MAX_QUERIES", 5)
    with pytest.raises(job.BackupTooLarge):
        asyncio.run(job.build_backup(db, "2026-11-28T00:00:00Z"))
