"""The database port: the subset of D1 the domain uses, with plain-Python values."""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol

Row = dict[str, Any]


class Statement(NamedTuple):
    sql: str
    params: tuple[Any, ...] = ()


@dataclass(frozen=True)
class RunResult:
    changes: int
    last_row_id: int | None


class StorageError(Exception):
    """The store failed or refused a statement (constraint, outage). Upstream maps it to 503
    unless the caller expected the constraint (see `is_constraint_violation`)."""

    @property
    def is_constraint_violation(self) -> bool:
        return "constraint failed" in str(self).lower()

    @property
    def is_unique_violation(self) -> bool:
        """A UNIQUE or PRIMARY KEY constraint refused the write (SQLite's and D1's text)."""
        return "unique constraint failed" in str(self).lower()


class Database(Protocol):
    async def all(self, sql: str, *params: Any) -> list[Row]: ...

    async def first(self, sql: str, *params: Any) -> Row | None: ...

    async def run(self, sql: str, *params: Any) -> RunResult: ...

    async def batch(self, statements: Sequence[Statement]) -> list[list[Row]]:
        """Run statements in one transaction (D1's batch): all apply or none."""
        ...
