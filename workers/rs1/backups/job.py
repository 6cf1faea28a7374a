"""The daily backup job: every D1 table → backups/d1/YYYY-MM-DD.sql.gz (+ manifest) in R2.

Device keys are not in D1 at all (they are derived from DEVICE_MASTER_KEY), so a backup holds
none in usable form. The dump restores with `wrangler d1 execute --file` (scripts/restore-backup).
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


def backup_key(day: str) -> str:
    return f"backups/d1/{day}.sql.gz"


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


async def build_backup(db: Database, created_at: str) -> tuple[bytes, dict[str, Any]]:
    tables, indexes = await _schema(db)
    parts = [store.dump_header(created_at)]
    parts += [store.dump_statement(t["sql"]) for t in tables]
    checksums = {}
    budget = [MAX_QUERIES - 2]  # the two schema reads
    for table in (t for t in tables if rows_backed_up(t["name"])):
        checksums[table["name"]] = await _dump_table(db, table["name"], parts, budget)
    parts += [store.dump_statement(sql) for sql in indexes]
    data = gzip.compress("".join(parts).encode(), mtime=0)
    manifest = {"created_at": created_at, "tables": checksums, "format": "sql+gzip"}
    return data, manifest


async def run_daily_backup(svc: Services, now_ms: int) -> dict[str, Any]:
    moment = datetime.fromtimestamp(now_ms / 1000, UTC)
    day = moment.strftime("%Y-%m-%d")
    data, manifest = await build_backup(svc.db, moment.isoformat())
    bucket = svc.blobs["BACKUPS"]
    await bucket.put(backup_key(day), data, "application/gzip")
    body = json.dumps(manifest, sort_keys=True, indent=2).encode()
    await bucket.put(backup_key(day).replace(".sql.gz", ".manifest.json"), body, "application/json")
    log_event(
        "info", "d1_backup", key=backup_key(day), bytes=len(data), tables=len(manifest["tables"])
    )
    return manifest
