"""The database a handler of an audited route gets: the real one, except that the first
write that changes a row carries the call's audit record (and its events) in its own D1
batch, so there is never a change without its record.

Which statement is the change: every INSERT/UPDATE/DELETE/REPLACE (also a `WITH ...` write or
one with RETURNING run through `all`/`first`). The record follows the first such statement of
the first write call, on the condition `changes() > 0`: a write that changed nothing (an
If-Match conflict, an idempotent repeat) carries nothing, and the next write — or, on success,
the app (AuditTrail.commit) — writes the record instead. SELECTs right after the change stay
right after it (a `SELECT changes()` probe must still read the change), so the record goes
after them; nothing later in a batch may depend on changes() (outbox events do not).
"""

import re
from collections.abc import Sequence
from typing import Any

from rs1.audit import store
from rs1.audit.trail import AuditTrail
from rs1.outbox.store import CHANGED
from rs1.storage.database import Database, Row, RunResult, Statement

_WRITE = re.compile(r"^\s*(?:WITH\b.*?\)\s*)?(INSERT|UPDATE|DELETE|REPLACE)\b", re.I | re.S)


def is_write(sql: str) -> bool:
    return _WRITE.match(sql) is not None


def _is_read(sql: str) -> bool:
    return sql.lstrip()[:6].upper() == "SELECT"


class AuditedDatabase:
    def __init__(self, db: Database, trail: AuditTrail) -> None:
        self.db = db
        self.trail = trail

    def _carries(self, statements: Sequence[Statement]) -> int | None:
        """Index of the statement the record follows, or None (written already / no write):
        the first write, or the last of the SELECTs right after it."""
        if self.trail.written:
            return None
        first = next((i for i, s in enumerate(statements) if is_write(s.sql)), None)
        if first is None:
            return None
        while first + 1 < len(statements) and _is_read(statements[first + 1].sql):
            first += 1
        return first

    async def _batch_with_record(
        self, statements: Sequence[Statement], at: int, probe: bool
    ) -> tuple[list[list[Row]], list[Row]]:
        """Run the batch with the record after statement `at`; (the batch's own results,
        the probe's row: changes() and last_insert_rowid() of that statement)."""
        record = self.trail.statements(CHANGED)
        extra = [store.CHANGES_PROBE] if probe else []
        batch = [*statements[: at + 1], *extra, *record, *statements[at + 1 :]]
        results = await self.db.batch(batch)
        cut = at + 1 + len(extra)
        if results[cut]:  # the audit INSERT returned its seq: the record is in
            self.trail.written = True
        own = results[: at + 1] + results[cut + len(record) :]
        return own, (results[at + 1] if probe else [])

    async def all(self, sql: str, *params: Any) -> list[Row]:
        statement = Statement(sql, params)
        if self._carries([statement]) is None:
            return await self.db.all(sql, *params)
        own, _ = await self._batch_with_record([statement], 0, probe=False)
        return own[0]

    async def first(self, sql: str, *params: Any) -> Row | None:
        rows = await self.all(sql, *params)
        return rows[0] if rows else None

    async def run(self, sql: str, *params: Any) -> RunResult:
        statement = Statement(sql, params)
        if self._carries([statement]) is None:
            return await self.db.run(sql, *params)
        _, probe = await self._batch_with_record([statement], 0, probe=True)
        row = probe[0]
        return RunResult(int(row["changes"]), row["last_row_id"])

    async def batch(self, statements: Sequence[Statement]) -> list[list[Row]]:
        at = self._carries(statements)
        if at is None:
            return await self.db.batch(statements)
        own, _ = await self._batch_with_record(statements, at, probe=False)
        return own
