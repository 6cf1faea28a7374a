"""Ownership and sharing, straight on SQLite with the real migrations."""

import asyncio

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers import enroll_one, fresh_db
from rs1.devices import ownership_store as ownership
from rs1.devices import store
from rs1.devices.presence import PresenceEvent
from rs1.errors import Conflict

UNKNOWN = "cd" * 16


def run(coro):
    return asyncio.run(coro)


def roles(db) -> dict[str, str]:
    rows = run(db.all("SELECT user_id, role FROM device_ownership"))
    return {r["user_id"]: r["role"] for r in rows}


def test_a_device_is_claimed_once(db) -> None:
    me = enroll_one(db, "AA:BB:CC:00:20:01")
    assert run(ownership.claim(db, me, "olga")) is True
    assert run(ownership.claim(db, me, "olga")) is False  # already hers: no change
    with pytest.raises(ownership.AlreadyClaimed) as refused:
        run(ownership.claim(db, me, "mallory"))
    assert isinstance(refused.value, Conflict)
    assert refused.value.code == "already_claimed"
    assert refused.value.message == "This device already has an owner."
    assert roles(db) == {"olga": "owner"}


def test_a_viewer_who_claims_a_claimed_device_stays_a_viewer(db) -> None:
    me = enroll_one(db, "AA:BB:CC:00:20:02")
    run(ownership.claim(db, me, "olga"))
    run(ownership.share(db, me, "victor"))
    with pytest.raises(ownership.AlreadyClaimed):
        run(ownership.claim(db, me, "victor"))
    assert roles(db) == {"olga": "owner", "victor": "viewer"}


def test_share_and_unshare_touch_viewers_only(db) -> None:
    me = enroll_one(db, "AA:BB:CC:00:20:03")
    run(ownership.claim(db, me, "olga"))
    run(ownership.share(db, me, "victor"))
    run(ownership.share(db, me, "victor"))  # idempotent
    run(ownership.share(db, me, "olga"))  # the owner keeps her role
    assert roles(db) == {"olga": "owner", "victor": "viewer"}
    run(ownership.unshare(db, me, "olga"))  # never removes the owner
    run(ownership.unshare(db, me, "victor"))
    run(ownership.unshare(db, me, "nobody"))
    assert roles(db) == {"olga": "owner"}


def test_role_for_each_kind_of_caller(db) -> None:
    me = enroll_one(db, "AA:BB:CC:00:20:04")
    run(ownership.claim(db, me, "olga"))
    run(ownership.share(db, me, "victor"))
    assert run(ownership.role_for(db, me, "root", "admin")) == "admin"
    assert run(ownership.role_for(db, me, "olga", "user")) == "owner"
    assert run(ownership.role_for(db, me, "victor", "user")) == "viewer"
    assert run(ownership.role_for(db, me, "mallory", "user")) is None
    assert run(ownership.role_for(db, UNKNOWN, "root", "admin")) is None  # no such device
    assert run(ownership.role_for(db, "not-an-id", "root", "admin")) is None
    assert run(ownership.role_for(db, me.upper(), "olga", "user")) is None  # ids are lowercase


def test_a_users_devices_page_with_their_roles(db) -> None:
    ids = sorted(enroll_one(db, f"AA:BB:CC:00:21:{i:02X}") for i in range(3))
    run(ownership.claim(db, ids[0], "olga"))
    run(ownership.share(db, ids[1], "olga"))
    run(ownership.claim(db, ids[2], "victor"))
    run(store.apply_presence(db, ids[1], PresenceEvent("connected", 1_000)))

    def listed(**query) -> list[tuple[str, str]]:
        args = {"after": "", "online": None, "limit": 10, **query}
        return [
            (r["device_id"], r["role"]) for r in run(ownership.list_for_user(db, "olga", **args))
        ]

    assert listed() == [(ids[0], "owner"), (ids[1], "viewer")]
    assert listed(online=True) == [(ids[1], "viewer")]
    assert listed(online=False) == [(ids[0], "owner")]
    assert listed(after=ids[0]) == [(ids[1], "viewer")]
    assert listed(limit=1) == [(ids[0], "owner")]


users = st.sampled_from(["olga", "victor", "mallory"])
operations = st.lists(st.tuples(st.sampled_from(["claim", "share", "unshare"]), users), max_size=12)


@settings(max_examples=50, deadline=None)
@given(operations)
def test_the_first_claimer_owns_the_device_whatever_follows(ops) -> None:
    db = fresh_db()
    me = enroll_one(db, "AA:BB:CC:00:22:01")
    owner = None
    for op, user in ops:
        if op == "claim":
            try:
                run(ownership.claim(db, me, user))
                owner = owner or user
            except ownership.AlreadyClaimed:
                assert owner not in (None, user)
        else:
            run(getattr(ownership, op)(db, me, user))
    current = roles(db)
    assert [u for u, r in current.items() if r == "owner"] == ([owner] if owner else [])
