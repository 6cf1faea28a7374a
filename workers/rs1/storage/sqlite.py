"""Database port over CPython's sqlite3 — a stand-in for D1 in unit tests.

D1 is SQLite, so the same migrations and SQL run here; integration tests use the real D1.
"""

import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rs1.storage.database import Row, RunResult, Statement, StorageError


class SqliteDatabase:
    def __init__(self, path: str = ":memory:") -> None:
        self.conn = sqlite3.connect(path, isolation_level=None)
        self.conn.row_factory = sqlite3.Row
        self.conn.execute("PRAGMA foreign_keys = ON")  # D1 enforces foreign keys

    def apply_migrations(self, directory: Path) -> None:
        for file in sorted(directory.glob("*.sql")):
            self.conn.executescript(file.read_text())

    def _execute(self, sql: str, params: Sequence[Any]) -> sqlite3.Cursor:
        try:
            return self.conn.execute(sql, tuple(params))
        except sqlite3.Error as exc:
            raise StorageError(str(exc)) from exc

    async def all(self, sql: str, *params: Any) -> list[Row]:
        return [dict(r) for r in self._execute(sql, params).fetchall()]

    async def first(self, sql: str, *params: Any) -> Row | None:
        rows = await self.all(sql, *params)
        return rows[0] if rows else None

    async def run(self, sql: str, *params: Any) -> RunResult:
        cur = self._execute(sql, params)
        return RunResult(cur.rowcount, cur.lastrowid)

    async def batch(self, statements: Sequence[Statement]) -> list[list[Row]]:
        self.conn.execute("BEGIN")
        try:
            out = [[dict(r) for r in self._execute(s.sql, s.params).fetchall()] for s in statements]
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")
        return out
