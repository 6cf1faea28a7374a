"""Events written in the same D1 batch as the state change they report (a transactional
outbox), with one pending delivery per enabled endpoint subscribed to the type.

An event's id is derived from its type and what happened (`key`: the device and the moment,
the rollout and the stage...), so a retried webhook or cron that re-emits it produces the same
id, and INSERT OR IGNORE keeps one event and one delivery per endpoint. Whether it happened is
decided in SQL, inside the batch, by a condition on the state the change left (`when`: the
rollout is aborted, the device's newest connect is this one), never by `changes()`: the
batch may carry other statements (an audit record) between the change and its events.
"""

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from rs1.storage.database import Database, Statement
from rs1.timefmt import iso_ms

CHANGED = "changes() > 0"  # the preceding write of the batch changed a row (audit records)


def event_id(event_type: str, key: str) -> str:
    return "evt_" + hashlib.sha256(f"{event_type}\n{key}".encode()).hexdigest()[:32]


@dataclass(frozen=True)
class NewEvent:
    type: str
    key: str  # what makes this occurrence unique (with the type)
    data: dict[str, Any]
    at_ms: int
    when: str  # an SQL condition on the state after the change: the event happened
    when_params: tuple[Any, ...] = ()

    @property
    def id(self) -> str:
        return event_id(self.type, self.key)


def _insert_event(event: NewEvent, condition: str, params: tuple[Any, ...]) -> Statement:
    body = json.dumps(event.data, sort_keys=True, separators=(",", ":"))
    return Statement(
        "INSERT OR IGNORE INTO events (event_id, type, created_at, created_ms, data) "
        f"SELECT ?, ?, ?, ?, ? WHERE {condition}",
        (event.id, event.type, iso_ms(event.at_ms), event.at_ms, body, *params),
    )


def _insert_deliveries(event: NewEvent) -> Statement:
    """A pending delivery per subscribed, enabled endpoint, if the event row exists."""
    return Statement(
        "INSERT OR IGNORE INTO event_deliveries (delivery_id, event_id, endpoint_id, "
        "created_ms, next_attempt_ms) SELECT ? || ':' || e.endpoint_id, ?, e.endpoint_id, ?, ? "
        "FROM event_endpoints e WHERE e.enabled = 1 AND e.deleted_at IS NULL "
        "AND EXISTS (SELECT 1 FROM json_each(e.event_types) WHERE value = ?) "
        "AND EXISTS (SELECT 1 FROM events WHERE event_id = ?)",
        (event.id, event.id, event.at_ms, event.at_ms, event.type, event.id),
    )


def statements(events: Sequence[NewEvent]) -> list[Statement]:
    """To follow the change in its batch."""
    out: list[Statement] = []
    for event in events:
        out += [_insert_event(event, event.when, event.when_params), _insert_deliveries(event)]
    return out


async def run_with_events(db: Database, change: Statement, events: Sequence[NewEvent]) -> int:
    """One write and its events in one transaction; the number of rows the write changed
    (read right after it: rs1.audit.database keeps a SELECT that follows a write beside it)."""
    if not events:
        return (await db.run(change.sql, *change.params)).changes
    results = await db.batch([change, Statement("SELECT changes() AS n"), *statements(events)])
    return int(results[1][0]["n"])
