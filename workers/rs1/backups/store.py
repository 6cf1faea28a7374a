"""SQL for backups: D1's schema and table pages read generically, and the dump's SQL text
(literals, INSERTs) that `wrangler d1 execute --file` replays."""

import math
from collections.abc import Iterable
from typing import Any

from rs1.storage.database import Database, Row

ROWID = "__rowid"  # each page row's rowid, under a name no table uses


async def tables(db: Database) -> list[Row]:
    """Every table (name, sql) by name, SQLite's and D1's internal ones included."""
    return await db.all("SELECT name, sql FROM sqlite_master WHERE type = 'table' ORDER BY name")


async def index_sqls(db: Database) -> list[str]:
    """CREATE INDEX and CREATE TRIGGER text (the audit log's append-only guards), by name,
    indexes first (automatic indexes have no sql). Replayed after the rows, so the triggers do
    not see the restore's inserts (they guard UPDATE and DELETE anyway)."""
    rows = await db.all(
        "SELECT sql FROM sqlite_master WHERE type IN ('index', 'trigger') AND sql IS NOT NULL "
        "ORDER BY type, name"
    )
    return [r["sql"] for r in rows]


async def table_page(db: Database, table: str, after: int | None, limit: int) -> list[Row]:
    """Up to `limit` rows in rowid order past rowid `after`, each with its rowid as ROWID.
    The first page (after=None) has no lower bound: D1 refuses a bound below -2**53 (Pyodide
    passes it as a JS BigInt: D1_TYPE_ERROR), and rowids can be negative."""
    select = f"SELECT rowid AS {quote_ident(ROWID)}, * FROM {quote_ident(table)}"
    if after is None:
        return await db.all(f"{select} ORDER BY rowid LIMIT ?", limit)
    return await db.all(f"{select} WHERE rowid > ? ORDER BY rowid LIMIT ?", after, limit)


def dump_header(created_at: str) -> str:
    return f"-- RS-1 Cloud D1 backup {created_at}\nPRAGMA defer_foreign_keys = on;\n"


def dump_statement(sql: str) -> str:
    """One schema statement (CREATE TABLE / INDEX text from sqlite_master) as a dump line."""
    return f"{sql};\n"


def sql_literal(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"cannot back up a non-finite REAL: {value!r}")
        return repr(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return f"X'{bytes(value).hex()}'"
    text = str(value)
    if "\x00" in text:  # SQL text cannot hold NUL: spell the bytes out
        return f"CAST(X'{text.encode().hex()}' AS TEXT)"
    return "'" + text.replace("'", "''") + "'"


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def insert_sql(table: str, columns: list[str], rows: Iterable[dict[str, Any]]) -> str:
    cols = ", ".join(quote_ident(c) for c in columns)
    lines = []
    for row in rows:
        values = ", ".join(sql_literal(row[c]) for c in columns)
        lines.append(f"INSERT INTO {quote_ident(table)} ({cols}) VALUES ({values});\n")
    return "".join(lines)
