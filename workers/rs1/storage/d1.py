"""Database port over a D1 binding (`env.DB`)."""

from collections.abc import Sequence
from typing import Any

from rs1.storage.database import Row, RunResult, Statement, StorageError


def _rows(result: Any) -> list[Row]:
    return [dict(row) for row in (result["results"] or [])]


class D1Database:
    def __init__(self, binding: Any) -> None:
        self._binding = binding

    def _prepare(self, sql: str, params: Sequence[Any]) -> Any:
        stmt = self._binding.prepare(sql)
        # bind() with no parameters is a wasted call (a round trip in the local runtime).
        return stmt.bind(*params) if params else stmt

    async def all(self, sql: str, *params: Any) -> list[Row]:
        try:
            return _rows(await self._prepare(sql, params).all())
        except Exception as exc:
            raise StorageError(str(exc)) from exc

    async def first(self, sql: str, *params: Any) -> Row | None:
        rows = await self.all(sql, *params)
        return rows[0] if rows else None

    async def run(self, sql: str, *params: Any) -> RunResult:
        try:
            result = await self._prepare(sql, params).run()
        except Exception as exc:
            raise StorageError(str(exc)) from exc
        meta = result["meta"] or {}
        return RunResult(int(meta.get("changes") or 0), meta.get("last_row_id"))

    async def batch(self, statements: Sequence[Statement]) -> list[list[Row]]:
        if not statements:
            return []
        prepared = [self._prepare(s.sql, s.params) for s in statements]
        try:
            results = await self._binding.batch(prepared)
        except Exception as exc:
            raise StorageError(str(exc)) from exc
        return [_rows(r) for r in results]
