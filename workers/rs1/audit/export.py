"""The daily audit export: each complete UTC day's records to R2 (BACKUPS
`audit/<day>.jsonl`) as a hash chain (rs1.audit.chain), its head recorded in audit_exports.

A day holds the records after the previous export's last seq up to the last one stamped
before the day ended, so the files cover every seq exactly once, in order. Every day from the
first record on gets a file, empty days too. Runs from the daily cron; a run that finds a day
exported already (a concurrent or repeated run) skips it: the content is the same.
"""

from datetime import UTC, date, datetime, timedelta
from typing import Any

from rs1.audit import chain, store
from rs1.logs import log_event
from rs1.services import Services
from rs1.timefmt import iso_ms

PAGE = 500
MAX_DAYS = 30  # per run: D1 allows 1,000 queries per invocation


def object_key(day: str) -> str:
    return f"audit/{day}.jsonl"


def _day_of(at_ms: int) -> date:
    return datetime.fromtimestamp(at_ms / 1000, UTC).date()


def _midnight(day: date) -> str:
    return f"{(day + timedelta(days=1)).isoformat()}T00:00:00.000Z"


async def _records(svc: Services, after_seq: int, upto_seq: int) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    while after_seq < upto_seq:
        page = await store.records_between(svc.db, after_seq, upto_seq, PAGE)
        if not page:
            break
        out += [store.public(r) for r in page]
        after_seq = int(page[-1]["seq"])
    return out


async def _export_day(svc: Services, day: date, prev_hash: str, after_seq: int) -> dict[str, Any]:
    upto = await store.last_seq_before(svc.db, _midnight(day))
    records = await _records(svc, after_seq, max(after_seq, upto or 0))
    export = chain.export_day(day.isoformat(), prev_hash, records)
    key = object_key(export.day)
    await svc.blobs["BACKUPS"].put(key, export.text.encode(), "application/x-ndjson")
    row = {
        "day": export.day,
        "prev_hash": prev_hash,
        "last_hash": export.last_hash,
        "count": export.count,
        "first_seq": records[0]["seq"] if records else None,
        "last_seq": records[-1]["seq"] if records else after_seq,
        "object_key": key,
        "exported_at": iso_ms(svc.clock() * 1000),
    }
    await store.add_export(svc.db, row)
    return row


async def run_audit_export(svc: Services, now_ms: int) -> list[str]:
    """Export every complete day not exported yet (at most MAX_DAYS a run); the days written."""
    last = await store.last_export(svc.db)
    if last is None:
        first = await store.first_record(svc.db)
        if first is None:
            return []
        day = date.fromisoformat(str(first["at"])[:10])
        prev_hash, after_seq = chain.GENESIS, 0
    else:
        day = date.fromisoformat(last["day"]) + timedelta(days=1)
        prev_hash, after_seq = last["last_hash"], int(last["last_seq"])
    written: list[str] = []
    today = _day_of(now_ms)
    while day < today and len(written) < MAX_DAYS:
        row = await _export_day(svc, day, prev_hash, after_seq)
        prev_hash, after_seq = row["last_hash"], int(row["last_seq"])
        written.append(row["day"])
        day += timedelta(days=1)
    if written:
        log_event("info", "audit_exported", days=written)
    return written
