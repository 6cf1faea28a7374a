"""rs1.storage.database.Database over the raw JS D1 binding: the one D1 adapter (Workers and
the live-targets Durable Object).

The SDK's binding wrapper converts each call generically (python_to_rpc on every argument,
python_from_rpc with a recursive null walk on every result, a wrapper object per prepared
statement); on workerd that was ~1.8 ms of a ~5 ms MQTT-auth request. D1 needs few
conversions, done here: None → JS null, bytes → Uint8Array, each result converted with one
`to_py()` and JS null → None. Everything else crosses as it did: numbers and strings as
themselves, a Python int beyond 2**53 as a BigInt, which D1's bind() refuses, as production
does (README, "What workerd does").
"""

from collections.abc import Sequence
from typing import Any

from pyodide.ffi import jsnull, to_js  # JS null arrives as jsnull, not None (Pyodide ≥ 0.27)

from rs1.storage.database import Row, RunResult, Statement, StorageError


def raw_binding(binding: Any) -> Any:
    """The JS object behind the SDK's binding wrapper (the binding itself when unwrapped)."""
    return getattr(binding, "_binding", binding)


def _param(value: Any) -> Any:
    if value is None:
        return jsnull
    if isinstance(value, bytes | bytearray | memoryview):
        return to_js(bytes(value))
    return value


def _rows(results: Any) -> list[Row]:
    if results is None or results is jsnull:
        return []
    return [{k: None if v is jsnull else v for k, v in row.items()} for row in results.to_py()]


class RawD1:
    def __init__(self, binding: Any) -> None:
        self._binding = raw_binding(binding)

    def _prepare(self, sql: str, params: Sequence[Any]) -> Any:
        stmt = self._binding.prepare(sql)
        return stmt.bind(*[_param(p) for p in params]) if params else stmt

    async def all(self, sql: str, *params: Any) -> list[Row]:
        try:
            return _rows((await self._prepare(sql, params).all()).results)
        except Exception as exc:  # D1 refusals arrive as JsException, bind() as TypeError
            raise StorageError(str(exc)) from exc

    async def first(self, sql: str, *params: Any) -> Row | None:
        try:
            row = await self._prepare(sql, params).first()
        except Exception as exc:  # D1 refusals arrive as JsException, bind() as TypeError
            raise StorageError(str(exc)) from exc
        if row is None or row is jsnull:
            return None
        return {k: None if v is jsnull else v for k, v in row.to_py().items()}

    async def run(self, sql: str, *params: Any) -> RunResult:
        try:
            meta = (await self._prepare(sql, params).run()).meta
        except Exception as exc:  # D1 refusals arrive as JsException, bind() as TypeError
            raise StorageError(str(exc)) from exc
        last = meta.last_row_id
        return RunResult(int(meta.changes or 0), None if last is None or last is jsnull else last)

    async def batch(self, statements: Sequence[Statement]) -> list[list[Row]]:
        if not statements:
            return []
        try:
            prepared = [self._prepare(s.sql, s.params) for s in statements]
            results = await self._binding.batch(to_js(prepared))
        except Exception as exc:  # D1 refusals arrive as JsException, bind() as TypeError
            raise StorageError(str(exc)) from exc
        return [_rows(r.results) for r in results]
