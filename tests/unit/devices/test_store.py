"""The device registry's store, straight on SQLite with the real migrations."""

import asyncio

from hypothesis import given, settings
from hypothesis import strategies as st

from helpers import enroll_one, fresh_db
from rs1.devices import ownership_store, store
from rs1.devices.presence import Presence, PresenceEvent, apply

UNKNOWN = "cd" * 16


def run(coro):
    return asyncio.run(coro)


def test_an_enrolled_device_is_found_and_an_unknown_one_is_not(db) -> None:
    me = enroll_one(db, "AA:BB:CC:00:10:01")
    assert run(store.exists(db, me)) and not run(store.exists(db, UNKNOWN))
    assert run(store.get_status(db, me)) == (store.ACTIVE, 1)
    assert run(store.get_status(db, UNKNOWN)) is None
    device = store.public_device(run(store.get_device(db, me)))
    assert device["mac_address"] == "AA:BB:CC:00:10:01" and device["online"] is False
    assert run(store.get_device(db, UNKNOWN)) is None
    assert run(store.known_device_ids(db, [me, UNKNOWN])) == {me}


def test_status_changes_only_for_an_enrolled_device(db) -> None:
    me = enroll_one(db, "AA:BB:CC:00:10:02")
    assert run(store.set_status(db, me, store.REVOKED, "t1"))
    assert run(store.get_status(db, me)) == (store.REVOKED, 1)
    assert run(store.exists(db, me))  # revoked, still enrolled
    assert not run(store.set_status(db, UNKNOWN, store.REVOKED, "t1"))


def test_a_mac_is_enrolled_once_and_rotation_bumps_the_generation(db) -> None:
    rows = [("ab" * 16, "AA:BB:CC:00:10:03", "RS-1")]
    first = run(db.batch(store.insert_devices(rows)))
    again = run(db.batch(store.insert_devices(rows)))
    assert first == [[{"mac_address": "AA:BB:CC:00:10:03"}]] and again == [[]]
    assert run(store.existing_macs(db, ["AA:BB:CC:00:10:03", "AA:BB:CC:00:10:04"])) == {
        "AA:BB:CC:00:10:03": {
            "mac_address": "AA:BB:CC:00:10:03",
            "device_id": "ab" * 16,
            "key_generation": 1,
        }
    }
    rotated = run(db.batch([store.rotate_key("ab" * 16, None)]))
    assert rotated == [[{"device_id": "ab" * 16, "key_generation": 2}]]
    assert run(store.get_device(db, "ab" * 16))["model"] == "RS-1"  # COALESCE keeps it


def test_search_filters_and_pages(db) -> None:
    ids = sorted(enroll_one(db, f"AA:BB:CC:00:11:{i:02X}") for i in range(4))
    run(store.apply_presence(db, ids[0], PresenceEvent("connected", 1_000)))
    run(db.batch([store.state_statement(ids[1], store.StateFacts("1.2.0"), 1_000)]))
    run(ownership_store.share(db, ids[2], "olga"))

    def found(**filters) -> list[str]:
        query = {"after": "", "version": None, "online": None, "owner": None, "limit": 10}
        return [r["device_id"] for r in run(store.search(db, **{**query, **filters}))]

    assert found() == ids
    assert found(online=True) == [ids[0]] and found(online=False) == ids[1:]
    assert found(version="1.2.0") == [ids[1]]
    assert found(owner="olga") == [ids[2]]
    assert found(after=ids[1], limit=1) == [ids[2]]


def test_fleet_totals_and_versions(db) -> None:
    ids = [enroll_one(db, f"AA:BB:CC:00:12:{i:02X}") for i in range(3)]
    facts = store.StateFacts("1.0.0")
    run(store.record_state(db, ids[0], facts, PresenceEvent("connected", 1_000)))
    run(store.set_status(db, ids[2], store.REVOKED, "t"))
    assert run(store.fleet_totals(db)) == {"registered": 3, "online": 1, "revoked": 1}
    versions = run(store.firmware_versions(db))
    assert sorted(versions, key=lambda v: v["version"]) == [
        {"version": "1.0.0", "devices": 1, "online": 1},
        {"version": "unknown", "devices": 1, "online": 0},
    ]


def test_presence_of_an_unknown_device_is_not_applied(db) -> None:
    assert not run(store.apply_presence(db, UNKNOWN, PresenceEvent("connected", 1)))


events = st.lists(
    st.builds(
        PresenceEvent,
        kind=st.sampled_from(["connected", "disconnected"]),
        at_ms=st.integers(1, 10**6),
        reason=st.sampled_from(["", "normal", "takenover", "discarded"]),
    ),
    min_size=1,
    max_size=8,
)


@settings(max_examples=40, deadline=None)
@given(events=events, data=st.data())
def test_presence_is_the_same_in_any_delivery_order(events, data) -> None:
    db = fresh_db()
    me = enroll_one(db, "AA:BB:CC:00:13:01")
    for event in data.draw(st.permutations(events)):
        assert run(store.apply_presence(db, me, event))
    model = Presence()
    for event in events:
        model = apply(model, event)
    device = run(store.get_device(db, me))
    assert bool(device["online"]) == model.online
    assert device["last_seen"] == store.iso_ms(max(e.at_ms for e in events))


def test_a_state_message_sets_version_and_presence_together(db) -> None:
    me = enroll_one(db, "AA:BB:CC:00:13:02")
    run(store.record_state(db, me, store.StateFacts("2.0.0"), PresenceEvent("connected", 2_000)))
    older = PresenceEvent("disconnected", 1_000)
    run(store.record_state(db, me, store.StateFacts("1.0.0"), older))
    device = run(store.get_device(db, me))
    assert device["firmware_version"] == "2.0.0" and device["online"] == 1
