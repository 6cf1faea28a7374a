"""The daily backup job: every D1 table → backups/d1/YYYY-MM-DD.sql.gz (+ manifest) in R2.

Device keys are not in D1 at all (they are derived from DEVICE_MASTER_KEY), so a backup holds
none in usable form. The dump restores with `wrangler d1 execute --file` (scripts/restore-backup).

Telemetry shards (rs1.storage.shards): shard 0 is DB, backed up as above. Each other shard
i of N is its own database, so it gets its own dump, backups/d1/YYYY-MM-DD.s{i}-of-{N}.sql.gz
(+ manifest), restored the same way into that shard's database. Like DB's, a shard's dump
holds its schema and its telemetry_archives records, not its raw rows or rollups (those are
in the R2 archives, rs1.backups.dump); its other tables are empty. That is a few queries per
shard, counted in the same MAX_QUERIES as DB's.
"""

import gzip
import json
from datetime import UTC, datetime
from typing import Any

from rs1.backups import store
from rs1.backups.dump import TableChecksum, include_table, rows_backed_up
from rs1.logs import log_event
from rs1.services import Services
from rs1.storage.database import Database, Row

PAGE = 1_000
# D1 queries the backup may make in its invocation (D1 allows 1,000; the rest is headroom):
# past it the backup stops with an error instead of being cut off by the platform midway.
MAX_QUERIES = 900


class BackupTooLarge(Exception):
    """The rows to back up need more D1 queries than one invocation may make."""


def backup_key(day: str, shard: int = 0, shards: int = 1) -> str:
    """DB's dump; a further telemetry shard's (shard ≥ 1 of N) is named after it."""
    return f"backups/d1/{day}.s{shard}-of-{shards}.sql.gz" if shard else f"backups/d1/{day}.sql.gz"


async def _schema(db: Database) -> tuple[list[Row], list[str]]:
    tables = [t for t in await store.tables(db) if include_table(t["name"])]
    return tables, await store.index_sqls(db)


async def _dump_table(db: Database, name: str, out: list[str], budget: list[int]) -> dict[str, Any]:
    checksum = TableChecksum()
    page = await store.table_page(db, name, None, PAGE)
    while True:
        budget[0] -= 1
        if budget[0] < 0:
            raise BackupTooLarge(f"{name}: more rows than {MAX_QUERIES} queries of {PAGE} read")
        if not page:
            return checksum.result()
        last = page[-1][store.ROWID]
        rows = [{k: v for k, v in r.items() if k != store.ROWID} for r in page]
        for row in rows:
            checksum.add(row)
        out.append(store.insert_sql(name, list(rows[0]), rows))
        page = await store.table_page(db, name, last, PAGE)


async def build_backup(
    db: Database, created_at: str, budget: list[int] | None = None
) -> tuple[bytes, dict[str, Any]]:
    """One database's dump and manifest; `budget` ([queries left]) may be shared by several."""
    budget = [MAX_QUERIES] if budget is None else budget
    budget[0] -= 2  # the two schema reads
    tables, indexes = await _schema(db)
    parts = [store.dump_header(created_at)]
    parts += [store.dump_statement(t["sql"]) for t in tables]
    checksums = {}
    for table in (t for t in tables if rows_backed_up(t["name"])):
        checksums[table["name"]] = await _dump_table(db, table["name"], parts, budget)
    parts += [store.dump_statement(sql) for sql in indexes]
    data = gzip.compress("".join(parts).encode(), mtime=0)
    manifest = {"created_at": created_at, "tables": checksums, "format": "sql+gzip"}
    return data, manifest


async def _back_up(
    svc: Services, db: Database, key: str, created_at: str, budget: list[int]
) -> dict[str, Any]:
    data, manifest = await build_backup(db, created_at, budget)
    bucket = svc.blobs["BACKUPS"]
    await bucket.put(key, data, "application/gzip")
    body = json.dumps(manifest, sort_keys=True, indent=2).encode()
    await bucket.put(key.replace(".sql.gz", ".manifest.json"), body, "application/json")
    log_event("info", "d1_backup", key=key, bytes=len(data), tables=len(manifest["tables"]))
    return manifest


async def run_daily_backup(svc: Services, now_ms: int) -> dict[str, Any]:
    """Back up DB, then each further telemetry shard; DB's manifest."""
    moment = datetime.fromtimestamp(now_ms / 1000, UTC)
    day = moment.strftime("%Y-%m-%d")
    budget = [MAX_QUERIES]  # one invocation's, shared by every database backed up
    manifest = await _back_up(svc, svc.db, backup_key(day), moment.isoformat(), budget)
    shards = svc.telemetry_shards  # after DB's: a missing shard binding must not cost it
    for index, db in enumerate(shards.databases[1:], start=1):
        key = backup_key(day, index, len(shards))
        await _back_up(svc, db, key, moment.isoformat(), budget)
    return manifest
