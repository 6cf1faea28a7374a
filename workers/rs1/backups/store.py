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


def real_literal(value: float) -> str:
    """A REAL as SQL that any SQLite reads back bit for bit. A decimal literal is not that:
    SQLite 3.40's parser misreads about 0.5% of doubles, short ones too (-913835.036838). So a
    fraction is written as its exact binary value, odd integer mantissa times a power of two,
    built from integer literals (CAST(-293 AS REAL) / 4 is -73.25); each step is exact."""
    if not math.isfinite(value):
        raise ValueError(f"cannot back up a non-finite REAL: {value!r}")
    if value.is_integer() and abs(value) < 2**53:
        return repr(value)  # "-0.0" and "12.0" read exactly
    numerator, denominator = value.as_integer_ratio()
    if denominator == 1:  # a large integral value: mantissa · 2**k
        exponent = (numerator & -numerator).bit_length() - 1
        mantissa = numerator >> exponent
    else:  # denominator is 2**k, numerator odd
        mantissa, exponent = numerator, -(denominator.bit_length() - 1)
    expr = f"CAST({mantissa} AS REAL)"
    op, left = (" * ", exponent) if exponent > 0 else (" / ", -exponent)
    while left:  # integer literals up to 2**62; a result past 2**-1022 is still exact
        step = min(left, 62)
        expr += f"{op}{2**step}"
        left -= step
    return f"({expr})"


def sql_literal(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return real_literal(value)
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
