"""Cohort queries over fleets built through the system's own write paths (the state and
presence statements, the zone-config store, tags, claims, revocation) rather than raw rows:
the compiled SQL selects what the plain-Python evaluator selects on the facts the read APIs
report, so the SQL's reading of the columns (version_key, rssi, last_seen, the zone-config
state) agrees with what the writers put there. Complements tests/unit/query."""

import asyncio
import time
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpers import NOW, enroll_one, fresh_db, query_trees
from rs1.devices import cohort_store, ownership_store, store, tags_store
from rs1.devices.presence import PresenceEvent
from rs1.query import Atom, Bool, Not, QueryError, parse_query
from rs1.query.evaluate import DeviceFacts, matches
from rs1.query.render import render
from rs1.query.version_key import version_key
from rs1.timefmt import iso_ms
from rs1.zones import store as zone_store

NOW_MS = int(NOW * 1000)
REPORTED = ["0.9.0", "1.0.0-rc.1", "1.0.0", "1.2.0", "1.10.0", "garbage"]
ASKED = ["0.1.0", "1.0.0-alpha", "1.0.0", "1.1.0", "1.2.0", "2.0.0"]  # some nobody reports
USERS = ["alice", "bob"]
FLEET = 4


@dataclass(frozen=True)
class Story:
    """What happens to one device, in the order the fields are listed."""

    state: tuple[str | None, int | None, int] | None  # (version, rssi, ms ago) of a `state`
    presence: tuple[str, int] | None  # (connected | disconnected, ms ago)
    zones: int  # zone-config versions stored
    applied: int  # version it acknowledged (0: none)
    rejected: int  # version it rejected (0: none)
    tags: dict[str, str]
    owner: str | None
    revoked: bool


ago = st.integers(0, 3 * 3_600_000)
stories = st.builds(
    Story,
    state=st.none() | st.tuples(st.none() | st.sampled_from(REPORTED),
                                st.none() | st.integers(-95, -40), ago),
    presence=st.none() | st.tuples(st.sampled_from(["connected", "disconnected"]), ago),
    zones=st.integers(0, 3),
    applied=st.integers(0, 3),
    rejected=st.integers(0, 3),
    tags=st.dictionaries(st.sampled_from(["site", "ring"]), st.sampled_from(["a", "b"])),
    owner=st.none() | st.sampled_from(USERS),
    revoked=st.booleans(),
)  # fmt: skip


async def live(db, story: Story, device_id: str) -> str:
    if story.state is not None:
        version, rssi, before = story.state
        facts = store.StateFacts(
            firmware_version=version,
            version_key=version_key(version) if version else None,
            rssi=rssi,
        )
        await db.batch([store.state_statement(device_id, facts, NOW_MS - before)])
    if story.presence is not None:
        kind, before = story.presence
        await store.apply_presence(db, device_id, PresenceEvent(kind, NOW_MS - before))  # type: ignore[arg-type]
    for expected in range(story.zones):
        await zone_store.insert_next(db, device_id, expected, "{}", iso_ms(NOW_MS), "t", 10)
    if story.applied:
        await zone_store.mark_applied(db, device_id, story.applied, NOW_MS)
    if story.rejected:
        await zone_store.mark_rejected(db, device_id, story.rejected, "bad", NOW_MS)
    if story.tags:
        await tags_store.change(db, device_id, story.tags, [])
    if story.owner:
        await ownership_store.claim(db, device_id, story.owner)
    if story.revoked:
        await store.set_status(db, device_id, store.REVOKED, iso_ms(NOW_MS))
    return device_id


async def facts_of(db, device_id: str) -> DeviceFacts:
    """The device as the read paths (registry, zone API view, tags, ownership) report it."""
    device = await store.get_device(db, device_id)
    assert device is not None
    rssi = await db.first("SELECT rssi FROM devices WHERE device_id = ?", device_id)
    newest = await zone_store.latest(db, device_id)
    rejection = await zone_store.last_rejection(db, device_id)
    if newest is None:
        config = "none"
    elif device["config_version"] >= newest["version"]:
        config = "applied"
    elif (rejection["config_rejected_version"] or 0) >= newest["version"]:  # type: ignore[index]
        config = "rejected"
    else:
        config = "pending"
    owners = {u for u in USERS if await ownership_store.role_of(db, device_id, u) == "owner"}
    return DeviceFacts(
        device_id=device_id,
        version=device["firmware_version"],
        model=device["model"],
        online=bool(device["online"]),
        last_seen=device["last_seen"],
        rssi=rssi["rssi"] if rssi else None,
        tags=await tags_store.tags_of(db, device_id),
        owners=frozenset(owners),
        config=config,
        status=device["status"],
    )


def atoms(ids: list[str]):
    ops = st.sampled_from(["=", "!=", "<", "<=", ">", ">="])
    eq = st.sampled_from(["=", "!="])
    return st.one_of(
        st.builds(lambda op: Atom("online", op), eq),
        st.builds(lambda op, v: Atom("version", op, v), ops, st.sampled_from(ASKED)),
        st.builds(lambda op, v: Atom("rssi", op, v), ops, st.integers(-95, -40)),
        st.builds(lambda op, v: Atom("seen", op, v), st.sampled_from(["<", ">"]),
                  st.sampled_from([60_000, 3_600_000, 2 * 3_600_000])),
        st.builds(lambda op, v: Atom("config", op, v), eq,
                  st.sampled_from(["applied", "pending", "rejected", "none"])),
        st.builds(lambda op, v: Atom("status", op, v), eq, st.sampled_from(["active", "revoked"])),
        st.builds(lambda op, v: Atom("owner", op, v), eq, st.sampled_from(USERS)),
        st.builds(lambda op, v: Atom("model", op, v), eq, st.sampled_from(["RS-1", "RS-2"])),
        st.builds(lambda op, v: Atom("id", op, v), eq, st.sampled_from(ids)),
        st.builds(lambda k: Atom("tag", "has", None, k), st.sampled_from(["site", "ring"])),
        st.builds(lambda op, k, v: Atom("tag", op, v, k), eq, st.sampled_from(["site", "ring"]),
                  st.sampled_from(["a", "b"])),
    )  # fmt: skip


def queries(ids: list[str]):
    return query_trees(atoms(ids), max_leaves=6)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(stories, min_size=FLEET, max_size=FLEET), st.data())
def test_queries_over_a_fleet_built_by_the_write_paths(fleet: list[Story], data) -> None:
    db = fresh_db()

    enrolled = [enroll_one(db, f"02:00:00:00:00:{n:02X}") for n in range(len(fleet))]

    async def build() -> list[DeviceFacts]:
        ids = [await live(db, story, d) for story, d in zip(fleet, enrolled, strict=True)]
        return [await facts_of(db, d) for d in ids]

    facts = asyncio.run(build())
    ids = [f.device_id for f in facts]
    for query in data.draw(st.lists(queries(ids), min_size=5, max_size=5)):
        query = parse_query(render(query))  # as it arrives over HTTP
        chosen = asyncio.run(cohort_store.matching_ids(db, query, NOW_MS))
        expected = sorted(f.device_id for f in facts if matches(query, f, NOW_MS))
        assert chosen == expected, render(query)
        both = asyncio.run(cohort_store.matching_ids(db, Bool("or", (query, Not(query))), NOW_MS))
        assert both == sorted(ids)  # two-valued: A or not A is everything


def test_the_zone_config_states_through_the_zone_store() -> None:
    db = fresh_db()

    none, applied, pending, rejected = (enroll_one(db, f"02:00:00:00:01:0{i}") for i in range(4))

    async def scenario() -> dict[str, list[str]]:
        for d in (applied, pending, rejected):
            await zone_store.insert_next(db, d, 0, "{}", iso_ms(NOW_MS), "t", 10)
            await zone_store.insert_next(db, d, 1, "{}", iso_ms(NOW_MS), "t", 10)
        await zone_store.mark_applied(db, applied, 2, NOW_MS)
        await zone_store.mark_applied(db, pending, 1, NOW_MS)
        await zone_store.mark_rejected(db, pending, 1, "old news", NOW_MS)  # an older version
        await zone_store.mark_rejected(db, rejected, 2, "bad zone", NOW_MS)
        names = {none: "none", applied: "applied", pending: "pending", rejected: "rejected"}
        found = {}
        for state in ("none", "applied", "pending", "rejected"):
            ids = await cohort_store.matching_ids(db, parse_query(f"config = {state}"), NOW_MS)
            found[state] = [names[d] for d in ids]
        return found

    assert asyncio.run(scenario()) == {
        "none": ["none"], "applied": ["applied"], "pending": ["pending"], "rejected": ["rejected"]
    }  # fmt: skip


@pytest.mark.parametrize("query", ["seen < 9999999d", "seen > 999999d", "seen < 3651d"])
def test_a_huge_duration_is_refused(query: str) -> None:
    """A duration reaching before year 1 would crash the compiler (a 500): refused instead."""
    with pytest.raises(QueryError):
        parse_query(query)
    cohort_store.where(parse_query("seen < 3650d"), int(time.time() * 1000))
