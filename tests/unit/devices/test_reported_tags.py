"""Tags a device reports in its `state` (tags_store.reported), on SQLite with the migrations.

Every `state` carries the tags (on connect and every heartbeat): one that repeats what the
device reported before must write no row, so the state webhook's D1 batch stays light.
"""

import asyncio

from helpers import enroll_one
from rs1.devices import tags_store
from rs1.storage.sqlite import SqliteDatabase


def _report(db: SqliteDatabase, device_id: str, tags: dict[str, str]) -> int:
    """Rows the report wrote."""
    before = db.conn.total_changes
    asyncio.run(db.batch(tags_store.reported(device_id, tags)))
    return db.conn.total_changes - before


def test_a_repeated_report_writes_nothing(db: SqliteDatabase) -> None:
    me = enroll_one(db, "AA:BB:CC:00:20:01")
    assert _report(db, me, {"site": "berlin", "floor": "2"}) == 2
    assert _report(db, me, {"site": "berlin", "floor": "2"}) == 0
    assert asyncio.run(tags_store.tags_of(db, me)) == {"floor": "2", "site": "berlin"}


def test_a_changed_report_replaces_only_the_devices_own_tags(db: SqliteDatabase) -> None:
    me = enroll_one(db, "AA:BB:CC:00:20:02")
    _report(db, me, {"site": "berlin", "floor": "2"})
    asyncio.run(tags_store.change(db, me, {"owner": "ops"}, []))
    assert _report(db, me, {"site": "paris"}) == 2  # site updated, floor gone
    assert asyncio.run(tags_store.tags_of(db, me)) == {"owner": "ops", "site": "paris"}
    asyncio.run(tags_store.change(db, me, {"site": "lyon"}, []))  # an admin's tag wins
    assert _report(db, me, {"site": "paris"}) == 0
    assert asyncio.run(tags_store.tags_of(db, me)) == {"owner": "ops", "site": "lyon"}
