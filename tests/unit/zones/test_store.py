"""The zone-config store, straight on SQLite with the real migrations."""

import asyncio
import json
import random

from hypothesis import given, settings
from hypothesis import strategies as st

from helpers import Interleaved, enroll_one, fresh_db, gather
from rs1.zones import store

AT = "2026-01-01T00:00:00.000Z"


def run(coro):
    return asyncio.run(coro)


def config(n: int) -> str:
    return json.dumps({"hold_time_s": n, "sensitivity": 5, "zones": []}, sort_keys=True)


def write(db, device: str, expected: int, keep: int = 10, user: str = "olga") -> bool:
    return run(store.insert_next(db, device, expected, config(expected + 1), AT, user, keep))


def kept(db, device: str) -> list[int]:
    return [r["version"] for r in run(store.versions(db, device))]


def test_versions_increase_and_a_stale_write_is_refused(db) -> None:
    me = enroll_one(db, "AA:BB:CC:00:0A:01")
    assert write(db, me, 0) and write(db, me, 1)
    assert not write(db, me, 1)  # written against version 1, but 2 is the newest now
    assert not write(db, me, 0) and not write(db, me, 5)
    assert kept(db, me) == [2, 1]
    assert run(store.version(db, me, 2)) == {"version": 2, "config_json": config(2)}


def test_the_latest_version_and_its_author(db) -> None:
    me = enroll_one(db, "AA:BB:CC:00:0A:02")
    assert run(store.latest(db, me)) is None and kept(db, me) == []
    write(db, me, 0, user="olga")
    write(db, me, 1, user="victor")
    assert run(store.latest(db, me)) == {
        "version": 2,
        "config_json": config(2),
        "updated_at": AT,
        "updated_by": "victor",
    }
    assert run(store.versions(db, me))[1] == {"version": 1, "updated_at": AT, "updated_by": "olga"}
    assert run(store.version(db, me, 3)) is None


def test_only_the_newest_versions_are_kept(db) -> None:
    me = enroll_one(db, "AA:BB:CC:00:0A:03")
    for n in range(12):
        assert write(db, me, n, keep=10)
    assert kept(db, me) == list(range(12, 2, -1))
    assert write(db, me, 12, keep=10)  # numbering goes on after pruning
    assert kept(db, me)[0] == 13


def test_devices_have_their_own_version_sequences(db) -> None:
    a = enroll_one(db, "AA:BB:CC:00:0A:04")
    b = enroll_one(db, "AA:BB:CC:00:0A:05")
    assert write(db, a, 0) and write(db, a, 1) and write(db, b, 0)
    assert (kept(db, a), kept(db, b)) == ([2, 1], [1])


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(0, 6), max_size=20))
def test_a_write_succeeds_exactly_when_it_names_the_newest_version(expected: list[int]) -> None:
    db = fresh_db()
    me = enroll_one(db, "AA:BB:CC:00:0A:06")
    newest = 0
    for e in expected:
        assert write(db, me, e) == (e == newest)
        newest += e == newest
    assert kept(db, me) == list(range(newest, 0, -1))


@settings(max_examples=10, deadline=None)
@given(st.randoms(use_true_random=False))
def test_of_racing_writes_on_one_version_exactly_one_wins(rnd: random.Random) -> None:
    db = fresh_db()
    me = enroll_one(db, "AA:BB:CC:00:0A:07")
    racing = Interleaved(db, rnd)
    results = gather(
        *(store.insert_next(racing, me, 0, config(n), AT, f"u{n}", 10) for n in range(5))
    )
    assert sorted(results) == [False, False, False, False, True]  # type: ignore[type-var]
    assert kept(db, me) == [1]


def test_a_pending_config_needs_the_device_and_a_config(db) -> None:
    me = enroll_one(db, "AA:BB:CC:00:0A:08")
    assert run(store.pending_config(db, "f" * 32)) is None
    assert run(store.pending_config(db, me)) is None
    write(db, me, 0)
    write(db, me, 1)
    pending = run(store.pending_config(db, me))
    assert pending == {"config_version": 0, "version": 2, "config_json": config(2)}


def test_applied_versions_only_move_forward_to_versions_that_exist(db) -> None:
    me = enroll_one(db, "AA:BB:CC:00:0A:09")
    assert not run(store.mark_applied(db, me, 1))  # no version 1 yet
    write(db, me, 0)
    write(db, me, 1)
    assert run(store.mark_applied(db, me, 2))
    assert not run(store.mark_applied(db, me, 2))  # a duplicate ack
    assert not run(store.mark_applied(db, me, 1))  # a late ack of an older version
    assert not run(store.mark_applied(db, "f" * 32, 1))
    assert run(store.pending_config(db, me))["config_version"] == 2  # type: ignore[index]


def test_the_newest_rejection_is_kept(db) -> None:
    me = enroll_one(db, "AA:BB:CC:00:0A:0A")
    assert run(store.last_rejection(db, me)) == {
        "config_rejected_version": None,
        "config_rejected_error": None,
    }
    assert run(store.mark_rejected(db, me, 3, "bad polygon"))
    assert run(store.mark_rejected(db, me, 3, "bad polygon"))  # a repeat is recorded again
    assert not run(store.mark_rejected(db, me, 2, "older"))
    assert run(store.last_rejection(db, me)) == {
        "config_rejected_version": 3,
        "config_rejected_error": "bad polygon",
    }
    assert not run(store.mark_rejected(db, "f" * 32, 1, "x"))
    assert run(store.last_rejection(db, "f" * 32)) is None
