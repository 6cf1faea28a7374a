"""The daily backup covers each telemetry shard's database too, within one query budget."""

import asyncio
import gzip
import json

import pytest

from helpers import enroll_one, fresh_db
from rs1.backups import job
from rs1.services import Services
from rs1.settings import Settings
from rs1.storage.memory import MemoryBlobs
from rs1.telemetry import store

NOW_MS = 1_795_000_000_000  # 2026-11-18
DAY = "2026-11-18"


def services(shards: int) -> Services:
    main = fresh_db()
    enroll_one(main, "AA:BB:CC:00:0B:01")
    extra = {i: fresh_db() for i in range(1, shards)}
    for i, db in [(0, main), *extra.items()]:
        asyncio.run(store.record_archive(db, 400_000 + i, f"telemetry/k{i}", 3, "ab", True))
    return Services(Settings(telemetry_shards=shards), main, {}, {"BACKUPS": MemoryBlobs()},
                    telemetry_dbs=extra)  # fmt: skip


def test_one_shard_backs_up_db_alone_as_before() -> None:
    svc = services(1)
    manifest = asyncio.run(job.run_daily_backup(svc, NOW_MS))
    blobs = svc.blobs["BACKUPS"]
    keys = [f"backups/d1/{DAY}.manifest.json", f"backups/d1/{DAY}.sql.gz"]
    assert asyncio.run(blobs.list_keys()) == keys
    assert manifest["tables"]["devices"]["rows"] == 1
    assert manifest["tables"]["telemetry_archives"]["rows"] == 1


def test_each_further_shard_gets_its_own_dump_and_manifest() -> None:
    svc = services(3)
    asyncio.run(job.run_daily_backup(svc, NOW_MS))
    blobs = svc.blobs["BACKUPS"]
    assert isinstance(blobs, MemoryBlobs)
    names = [f"{DAY}{part}.{ext}" for part in ("", ".s1-of-3", ".s2-of-3")
             for ext in ("manifest.json", "sql.gz")]  # fmt: skip
    assert asyncio.run(blobs.list_keys()) == sorted(f"backups/d1/{n}" for n in names)
    for i in (1, 2):
        key = job.backup_key(DAY, i, 3)
        sql = gzip.decompress(blobs.objects[key][0]).decode()
        assert f"'telemetry/k{i}'" in sql and "'telemetry/k0'" not in sql  # its own records
        assert "CREATE TABLE telemetry_raw" in sql  # the whole schema: restorable as is
        manifest = json.loads(blobs.objects[key.replace(".sql.gz", ".manifest.json")][0])
        assert manifest["tables"]["telemetry_archives"]["rows"] == 1
        assert manifest["tables"]["devices"]["rows"] == 0


def test_the_shards_share_the_invocations_query_budget(monkeypatch) -> None:
    svc = services(2)
    tables = len(asyncio.run(svc.db.all("SELECT name FROM sqlite_master WHERE type = 'table'")))
    monkeypatch.setattr(job, "MAX_QUERIES", tables + 2)  # enough for DB, not for both
    with pytest.raises(job.BackupTooLarge):
        asyncio.run(job.run_daily_backup(svc, NOW_MS))
    assert asyncio.run(svc.blobs["BACKUPS"].list_keys()) == [
        f"backups/d1/{DAY}.manifest.json",
        f"backups/d1/{DAY}.sql.gz",
    ]  # DB's backup was written before the shard ran out
