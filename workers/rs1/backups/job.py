"""The daily backup job: every D1 table → backups/d1/YYYY-MM-DD.sql.gz (+ manifest) in R2.

Device keys are not in D1 at all (they are derived from DEVICE_MASTER_KEY), so a backup holds
none in usable form. The dump restores with `wrangler d1 execute --file` (scripts/restore-backup).
"""

import gzip
import json
from datetime import UTC, datetime
from typing import Any

from rs1.backups.dump import TableChecksum, include_table, insert_sql, rows_backed_up
from rs1.logs import log_event
from rs1.services import Services
from rs1.storage.database import Database

PAGE = 1_000
# D1 queries the backup may make in its invocation (D1 allows 1,000; the rest is headroom):
# past it the backup stops with an error instead of being cut off by the platform midway.
MAX_QUERIES = 900


class BackupTooLarge(Exception):
    """The rows to back up need more D1 queries than one invocation may make."""


def backup_key(day: str) -> str:
    return f"backups/d1/{day}.sql.gz"


async def _schema(db: Database) -> tuple[list[dict[str, Any]], list[str]]:
    tables = await db.all("SELECT name, sql FROM sqlite_master WHERE type = 'table' ORDER BY name")
    indexes = await db.all(
        "SELECT sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL ORDER BY name"
    )
    return [t for t in tables if include_table(t["name"])], [i["sql"] for i in indexes]


async def _dump_table(db: Database, name: str, out: list[str], budget: list[int]) -> dict[str, Any]:
    checksum = TableChecksum()
    select = f'SELECT rowid AS "__rowid", * FROM "{name}"'
    # The first page has no lower bound: D1 refuses a bound below -2**53 (Pyodide passes it as
    # a JS BigInt: D1_TYPE_ERROR), and rowids can be negative.
    page = await db.all(f"{select} ORDER BY rowid LIMIT ?", PAGE)
    while True:
        budget[0] -= 1
        if budget[0] < 0:
            raise BackupTooLarge(f"{name}: more rows than {MAX_QUERIES} queries of {PAGE} read")
        if not page:
            return checksum.result()
        last = page[-1]["__rowid"]
        rows = [{k: v for k, v in r.items() if k != "__rowid"} for r in page]
        for row in rows:
            checksum.add(row)
        out.append(insert_sql(name, list(rows[0]), rows))
        page = await db.all(f"{select} WHERE rowid > ? ORDER BY rowid LIMIT ?", last, PAGE)


async def build_backup(db: Database, created_at: str) -> tuple[bytes, dict[str, Any]]:
    tables, indexes = await _schema(db)
    parts = [f"-- RS-1 Cloud D1 backup {created_at}\nPRAGMA defer_foreign_keys = on;\n"]
    parts += [f"{t['sql']};\n" for t in tables]
    checksums = {}
    budget = [MAX_QUERIES - 2]  # the two schema reads
    for table in (t for t in tables if rows_backed_up(t["name"])):
        checksums[table["name"]] = await _dump_table(db, table["name"], parts, budget)
    parts += [f"{sql};\n" for sql in indexes]
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
