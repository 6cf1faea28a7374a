"""The backup store's generic reads and dump text, straight on SQLite."""

import asyncio
import re

from hypothesis import given, settings
from hypothesis import strategies as st

from helpers import enroll_one
from rs1.backups import store
from rs1.storage.sqlite import SqliteDatabase


def run(coro):
    return asyncio.run(coro)


def test_schema_reads_list_tables_and_explicit_indexes_and_triggers(db) -> None:
    names = [t["name"] for t in run(store.tables(db))]
    assert names == sorted(names) and {"devices", "device_ownership", "alerts"} <= set(names)
    assert all(t["sql"].startswith("CREATE TABLE") for t in run(store.tables(db)))
    extras = run(store.index_sqls(db))
    indexes = [sql for sql in extras if re.match(r"CREATE (UNIQUE )?INDEX ", sql)]
    triggers = [sql for sql in extras if sql.startswith("CREATE TRIGGER")]
    assert indexes and len(indexes) + len(triggers) == len(extras)
    assert extras == indexes + triggers  # indexes first, then the audit log's guards
    assert {"audit_log_no_update", "audit_log_no_delete"} == {t.split()[2] for t in triggers}


def test_pages_walk_every_row_in_rowid_order_from_negative_rowids() -> None:
    db = SqliteDatabase()
    run(db.run("CREATE TABLE t (v TEXT)"))
    for rowid in (-5, -1, 3, 9, 10):
        run(db.run("INSERT INTO t (rowid, v) VALUES (?, ?)", rowid, f"r{rowid}"))
    seen, after = [], None
    while page := run(store.table_page(db, "t", after, 2)):
        seen += page
        after = page[-1][store.ROWID]
    assert [r[store.ROWID] for r in seen] == [-5, -1, 3, 9, 10]
    assert seen[0] == {store.ROWID: -5, "v": "r-5"}


def test_a_table_dumps_to_text_that_replays(db) -> None:
    enroll_one(db, "AA:BB:CC:00:40:01")
    rows = [
        {k: v for k, v in r.items() if k != store.ROWID}
        for r in run(store.table_page(db, "devices", None, 10))
    ]
    (devices,) = [t for t in run(store.tables(db)) if t["name"] == "devices"]
    target = SqliteDatabase()
    script = store.dump_statement(devices["sql"]) + store.insert_sql("devices", list(rows[0]), rows)
    target.conn.executescript(store.dump_header("now") + script)
    assert run(target.all("SELECT * FROM devices")) == rows


values = st.one_of(
    st.none(),
    st.integers(-(2**63), 2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(),
    st.binary(max_size=16),
)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(values, values), min_size=1, max_size=5))
def test_any_values_replay_exactly(pairs) -> None:
    rows = [{"a": a, 'odd "name"': b} for a, b in pairs]
    db = SqliteDatabase()
    db.conn.executescript('CREATE TABLE "we""ird" (a, "odd ""name""");')
    db.conn.executescript(store.insert_sql('we"ird', ["a", 'odd "name"'], rows))
    assert run(db.all('SELECT * FROM "we""ird" ORDER BY rowid')) == rows
