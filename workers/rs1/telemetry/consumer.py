"""The ingest queue's consumer: store each delivered batch of telemetry rows in one go.

Delivery is at least once (a batch may come again, whole or in part, in any order); rows are
keyed by (device_id, message_id) and the store keeps the earliest, so redelivery never
duplicates a row. One batch is one store call: the raw upserts, the dirty-hour markers and
the devices' last_seen are written once per batch, not per message.

- A body this version cannot read is retried, never dropped: after the consumer's max_retries
  it lands in the dead-letter queue (wrangler.telemetry.toml), where ops can inspect it.
- A storage failure retries the whole batch, later (Outcome.retry_all). From the second
  attempt on, the batch is stored a row at a time and only the rows that fail are retried, so
  one row that can never be stored takes no other row to the dead-letter queue with it.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from rs1.errors import InvalidInput
from rs1.logs import log_event
from rs1.services import Services
from rs1.storage.database import StorageError
from rs1.telemetry import store as telemetry_store
from rs1.telemetry.ingest import RawRow
from rs1.telemetry.queue import decode_row

RETRY_BASE_S = 2
RETRY_MAX_S = 300


@dataclass(frozen=True)
class Delivery:
    id: str
    body: Any
    attempts: int


@dataclass
class Outcome:
    stored: int = 0
    retry: list[str] = field(default_factory=list)  # message ids to deliver again
    retry_all: bool = False
    delay_s: int = 0


def backoff(attempts: int) -> int:
    return min(RETRY_MAX_S, RETRY_BASE_S ** min(attempts, 9))


def _rows(deliveries: Sequence[Delivery], outcome: Outcome) -> list[tuple[Delivery, RawRow]]:
    rows: list[tuple[Delivery, RawRow]] = []
    for d in deliveries:
        try:
            rows.append((d, decode_row(d.body)))
        except InvalidInput as err:
            outcome.retry.append(d.id)
            log_event("error", "telemetry_queue_unreadable", message_id=d.id,
                      attempts=d.attempts, error=err.message)  # fmt: skip
    return rows


async def _one_by_one(
    rows: Sequence[tuple[Delivery, RawRow]], svc: Services, outcome: Outcome
) -> None:
    for d, row in rows:
        try:
            await telemetry_store.store_rows(svc.telemetry_shards, [row])
            outcome.stored += 1
        except StorageError as exc:
            outcome.retry.append(d.id)
            outcome.delay_s = backoff(d.attempts)
            log_event("error", "telemetry_queue_row_failed", message_id=d.id,
                      attempts=d.attempts, error=str(exc))  # fmt: skip


async def consume(deliveries: Sequence[Delivery], svc: Services) -> Outcome:
    outcome = Outcome()
    rows = _rows(deliveries, outcome)
    if not rows:
        return outcome
    attempts = max(d.attempts for d, _ in rows)
    if attempts > 1:  # this batch failed before: find the rows that fail, keep the rest
        await _one_by_one(rows, svc, outcome)
        return outcome
    try:
        await telemetry_store.store_rows(svc.telemetry_shards, [row for _, row in rows])
    except StorageError as exc:
        log_event("error", "telemetry_queue_store_failed", messages=len(rows),
                  attempts=attempts, error=str(exc))  # fmt: skip
        return Outcome(retry_all=True, delay_s=backoff(attempts))
    outcome.stored = len(rows)
    return outcome
