"""The telemetry store, straight on SQLite with the real migrations."""

import asyncio
import json
import random

from hypothesis import given, settings
from hypothesis import strategies as st

from helpers import enroll_one, fresh_db
from rs1.storage.shards import Shards
from rs1.telemetry import store
from rs1.telemetry.ingest import HOUR_MS, RawRow
from rs1.telemetry.rollup import rollup
from rs1.timefmt import iso_ms

T0 = 491_000 * HOUR_MS  # an hour boundary
HOUR = T0 // HOUR_MS
A, B = "a" * 32, "b" * 32


def run(coro):
    return asyncio.run(coro)


def raw(
    device: str = A, message: str = "m-1", at: int = T0, kind: str = "health", **payload
) -> RawRow:
    body = json.dumps({"rssi": -50, **payload}, sort_keys=True, separators=(",", ":"))
    topic = f"opticworks/{device}/telemetry/{kind}"
    return RawRow(device, message, kind, topic, at - 5, at, body)


def stored(db) -> list[dict]:
    return run(db.all("SELECT * FROM telemetry_raw ORDER BY device_id, message_id"))


# A message: (device, message_id, received_at offset, payload variant). Redeliveries repeat a
# message exactly or with a later/earlier receive time and another payload (QoS 1 dup).
messages = st.tuples(
    st.sampled_from([A, B]),
    st.sampled_from([f"m-{n}" for n in range(6)]),
    st.integers(0, 3 * HOUR_MS),
    st.integers(0, 2),
)


@settings(max_examples=40, deadline=None)
@given(st.lists(messages, max_size=30), st.integers(1, 8), st.randoms(use_true_random=False))
def test_a_message_id_is_stored_once_whatever_the_deliveries(
    deliveries: list[tuple[str, str, int, int]], batch: int, rnd: random.Random
) -> None:
    """Stored keys = the distinct keys; each key keeps its earliest (received_at, payload)."""
    db = fresh_db()
    rows = [raw(d, m, T0 + offset, rssi=-variant) for d, m, offset, variant in deliveries]
    rnd.shuffle(rows)
    for start in range(0, len(rows), batch):
        run(store.store_rows(Shards([db]), rows[start : start + batch]))
    expected: dict[tuple[str, str], RawRow] = {}
    for r in rows:
        best = expected.get((r.device_id, r.message_id))
        if best is None or (r.received_at, r.payload) < (best.received_at, best.payload):
            expected[(r.device_id, r.message_id)] = r
    got = {(r["device_id"], r["message_id"]): r for r in stored(db)}
    assert set(got) == set(expected)
    for key, r in expected.items():
        assert (got[key]["received_at"], got[key]["payload"]) == (r.received_at, r.payload)
        assert got[key]["hour"] == r.hour


def test_more_rows_than_one_insert_binds_go_in_several_statements(db) -> None:
    rows = [raw(A, f"m-{n:03}", T0 + n) for n in range(store.ROWS_PER_INSERT * 2 + 1)]
    statements = store.ingest_statements(rows)
    inserts = [s for s in statements if "telemetry_raw" in s.sql]
    assert len(inserts) == 3 and all(len(s.params) <= 100 for s in statements)
    run(store.store_rows(Shards([db]), rows))
    assert len(stored(db)) == len(rows)


def test_each_write_to_an_hour_bumps_its_marker_generation(db) -> None:
    run(store.store_rows(Shards([db]), [raw(A, "m-1"), raw(A, "m-2", T0 + HOUR_MS)]))
    run(store.store_rows(Shards([db]), [raw(A, "m-1")]))  # a redelivery still marks the hour
    markers = run(store.dirty_markers(db, HOUR + 5, 10))
    assert [(m["hour"], m["gen"]) for m in markers] == [(HOUR, 2), (HOUR + 1, 1)]


def test_last_seen_only_moves_forward_and_only_for_enrolled_devices(db) -> None:
    me = enroll_one(db, "AA:BB:CC:00:09:01")
    run(store.store_rows(Shards([db]), [raw(me, "m-2", T0 + 2000), raw(me, "m-1", T0 + 1000)]))
    run(
        store.store_rows(Shards([db]), [raw(me, "m-0", T0), raw(B, "m-9", T0 + 9000)])
    )  # older; unknown
    seen = run(db.first("SELECT last_seen FROM devices WHERE device_id = ?", me))
    assert seen == {"last_seen": iso_ms(T0 + 2000)}
    assert run(db.first("SELECT 1 AS x FROM devices WHERE device_id = ?", B)) is None


def test_an_hour_reads_in_archive_order_across_pages(db) -> None:
    rows = [raw(d, f"m-{n}", T0 + n) for n in range(5) for d in (B, A)]
    run(store.store_rows(Shards([db]), rows + [raw(A, "next-hour", T0 + HOUR_MS)]))
    got = run(store.hour_rows(db, HOUR, page=2))
    assert got == sorted(rows, key=lambda r: (r.device_id, r.message_id))


def test_raw_pages_follow_receive_time_within_the_range(db) -> None:
    rows = [raw(A, f"m-{n}", T0 + n * 10) for n in range(6)] + [raw(B, "other", T0 + 15)]
    run(store.store_rows(Shards([db]), rows))
    page = run(store.raw_page(Shards([db]), A, T0 + 10, T0 + 50, (-1, ""), 2))
    assert [r["message_id"] for r in page] == ["m-1", "m-2"]
    assert set(page[0]) == {"message_id", "kind", "topic", "ts", "received_at", "payload"}
    rest = run(store.raw_page(Shards([db]), A, T0 + 10, T0 + 50, (T0 + 20, "m-2"), 10))
    assert [r["message_id"] for r in rest] == ["m-3", "m-4"]


def _save(db, hour: int, rows: list[RawRow], markers: list[dict]) -> None:
    by_device: dict[str, list[tuple[str, str]]] = {}
    for r in rows:
        by_device.setdefault(r.device_id, []).append((r.kind, r.payload))
    rollups = [(d, rollup(d, hour, items) if items else None) for d, items in by_device.items()]
    run(store.save_hour(db, hour, rollups, markers))


def test_a_saved_rollup_aggregates_the_hour(db) -> None:
    rows = [raw(A, f"m-{n}", T0 + n, rssi=-40 - n) for n in range(4)]
    rows.append(raw(A, "t-1", T0 + 9, kind="targets", targets=[{"id": 1}, {"id": 2}]))
    run(store.store_rows(Shards([db]), rows))
    _save(db, HOUR, run(store.hour_rows(db, HOUR)), [])
    [hourly] = run(store.hourly_page(Shards([db]), A, HOUR, HOUR + 1, -1, 10))
    assert hourly["message_count"] == 5 and hourly["max_target_count"] == 2
    metrics = json.loads(hourly["metrics_json"])
    assert metrics["health.rssi"] == {"count": 4, "min": -43.0, "max": -40.0, "avg": -41.5}
    assert metrics["targets.count"]["max"] == 2.0


def test_a_device_without_rows_loses_its_rollup(db) -> None:
    _save(db, HOUR, [raw(A)], [])
    run(store.save_hour(db, HOUR, [(A, None)], []))
    assert run(store.hourly_page(Shards([db]), A, HOUR, HOUR + 1, -1, 10)) == []


def test_hourly_pages_follow_the_hour(db) -> None:
    for h in range(4):
        _save(db, HOUR + h, [raw(A, f"m-{h}", T0 + h * HOUR_MS)], [])
    page = run(store.hourly_page(Shards([db]), A, HOUR + 1, HOUR + 4, HOUR + 1, 10))
    assert [r["hour"] for r in page] == [HOUR + 2, HOUR + 3]
    assert run(store.hourly_page(Shards([db]), B, HOUR, HOUR + 4, -1, 10)) == []


def test_a_marker_is_cleared_only_at_the_generation_read(db) -> None:
    run(store.store_rows(Shards([db]), [raw(A, "m-1"), raw(B, "m-1")]))
    markers = run(store.dirty_markers(db, HOUR + 1, 10))
    run(store.store_rows(Shards([db]), [raw(B, "m-2")]))  # a write while the job worked
    run(store.save_hour(db, HOUR, [], markers))
    left = run(store.dirty_markers(db, HOUR + 1, 10))
    assert [(m["device_id"], m["gen"]) for m in left] == [(B, 2)]


def test_markers_of_the_current_hour_wait_and_come_oldest_first(db) -> None:
    run(store.store_rows(Shards([db]), [raw(B, "m-1", T0 + HOUR_MS), raw(A, "m-2", T0 + HOUR_MS)]))
    run(store.store_rows(Shards([db]), [raw(B, "m-3", T0), raw(A, "m-4", T0 + 2 * HOUR_MS)]))
    markers = run(store.dirty_markers(db, HOUR + 2, 2))
    assert [(m["hour"], m["device_id"]) for m in markers] == [(HOUR, B), (HOUR + 1, A)]


def test_archive_records_are_replaced_and_unverified_ones_listed(db) -> None:
    run(store.record_archive(db, HOUR, "k0", 3, "ab", False))
    run(store.record_archive(db, HOUR + 1, "k1", 1, "cd", False))
    run(store.record_archive(db, HOUR + 2, "k2", 1, "ef", True))
    assert run(store.unverified_hours(db, HOUR + 5)) == [HOUR, HOUR + 1]
    assert run(store.unverified_hours(db, HOUR + 1)) == [HOUR]
    run(store.record_archive(db, HOUR, "k0", 3, "ab", True))  # a re-run verified it
    assert run(store.unverified_hours(db, HOUR + 5)) == [HOUR + 1]


def test_retention_deletes_only_verified_hours_no_marker_keeps_dirty(db) -> None:
    rows = [raw(A, f"m-{h}", T0 + h * HOUR_MS) for h in range(4)]
    run(store.store_rows(Shards([db]), rows))
    for m in run(store.dirty_markers(db, HOUR + 4, 10)):
        if m["hour"] != HOUR + 1:
            run(store.save_hour(db, m["hour"], [], [m]))
    for h, verified in ((0, True), (1, True), (2, False), (3, True)):
        run(store.record_archive(db, HOUR + h, f"k{h}", 1, "ab", verified))
    # hour 0 goes; 1 is still dirty, 2 unverified, 3 not before the cut-off.
    assert run(store.delete_archived_raw(db, HOUR + 3)) == 1
    assert sorted(r["hour"] for r in stored(db)) == [HOUR + 1, HOUR + 2, HOUR + 3]
    assert run(store.delete_archived_raw(db, HOUR + 3)) == 0
