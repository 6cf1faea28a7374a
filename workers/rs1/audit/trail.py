"""One request's audit record: who (actor), did what (action) to what (target), with a
before/after summary that never holds a secret.

The app (rs1.http.app) makes a trail for every route that declares `audit=`, hands it to the
handler as `audit=`, and runs the handler over rs1.audit.database.AuditedDatabase, which adds
the record to the first D1 write that changes a row. A call that changed nothing in D1 but
succeeded (a no-op, or a change kept in KV) gets its record when the handler returns, or
before its KV change if the handler calls `commit()` first.
"""

import re
import secrets
from dataclasses import dataclass, field
from typing import Any

from rs1.audit import store
from rs1.outbox.store import NewEvent, statements
from rs1.storage.database import Database, Statement
from rs1.timefmt import iso_ms

# Summary keys whose values are never recorded (device keys, API keys, endpoint secrets...).
_SECRET_KEY = re.compile(r"secret|token|password|^key$|_key$|signature", re.IGNORECASE)
REDACTED = "[redacted]"


def scrub(value: Any) -> Any:
    """The value with every secret-named field's value replaced."""
    if isinstance(value, dict):
        return {k: REDACTED if _SECRET_KEY.search(str(k)) else scrub(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [scrub(v) for v in value]
    return value


@dataclass(frozen=True)
class Actor:
    type: str  # user, admin or api_key
    id: str


@dataclass
class AuditTrail:
    action: str
    actor: Actor
    request_id: str
    client_ip: str
    at_ms: int
    target_type: str = "none"
    target_id: str = ""
    before: Any = None
    after: Any = None
    extra: dict[str, Any] = field(default_factory=dict)
    events: list[NewEvent] = field(default_factory=list)
    audit_id: str = field(default_factory=lambda: "aud_" + secrets.token_hex(12))
    written: bool = False
    # The real database (the handler's own is the AuditedDatabase, which would add the record
    # to the record's own batch a second time).
    db: Database | None = None

    def target(self, kind: str, ident: str) -> None:
        self.target_type, self.target_id = kind, ident

    def summary(self, *, before: Any = None, after: Any = None, **extra: Any) -> None:
        """What the call changes; set it before the write that carries the record."""
        if before is not None:
            self.before = before
        if after is not None:
            self.after = after
        self.extra.update(extra)

    def emit(self, event: NewEvent) -> None:
        """An outbound event that goes with this record (and only if the record is written)."""
        self.events.append(event)

    def record(self) -> dict[str, Any]:
        summary = scrub({"before": self.before, "after": self.after, **self.extra})
        return {
            "audit_id": self.audit_id,
            "at": iso_ms(self.at_ms),
            "actor_type": self.actor.type,
            "actor_id": self.actor.id,
            "action": self.action,
            "target_type": self.target_type,
            "target_id": self.target_id,
            "request_id": self.request_id,
            "client_ip": self.client_ip,
            "summary": summary,
        }

    def statements(self, condition: str) -> list[Statement]:
        """The record (if `condition` holds) and its events (if the record was written and
        their own condition holds)."""
        events = [_following(e, self.audit_id) for e in self.events]
        return [store.insert(self.record(), condition), *statements(events)]

    async def commit(self, db: Database | None = None) -> None:
        """Write the record now, unless a change already carried it (idempotent)."""
        target = db or self.db
        if target is None:
            raise RuntimeError("an audit trail commits to the database it was made for")
        if not self.written:
            await target.batch(self.statements("1"))
            self.written = True


def _following(event: NewEvent, audit_id: str) -> NewEvent:
    """The event, happening only if the record went in too (the change changed a row)."""
    when = f"{store.RECORDED} AND ({event.when})"
    return NewEvent(
        event.type, event.key, event.data, event.at_ms, when, (audit_id, *event.when_params)
    )
