"""Presence converges under duplicated, late and shuffled EMQX events (model and SQL)."""

import asyncio

from hypothesis import given, settings
from hypothesis import strategies as st

from helpers import enroll_one, envelope, fresh_db
from rs1.devices import store
from rs1.devices.presence import Presence, PresenceEvent, apply
from rs1.telemetry.ingest import parse_envelope, to_row
from rs1.telemetry.store import ingest_statements as statements

DEVICE = "ab" * 16


@st.composite
def sessions(draw) -> list[PresenceEvent]:
    """A true history: alternating sessions at increasing times; some end by takeover."""
    events: list[PresenceEvent] = []
    t = draw(st.integers(1, 10_000))
    for _ in range(draw(st.integers(1, 6))):
        events.append(PresenceEvent("connected", t))
        t += draw(st.integers(1, 10_000))
        if draw(st.booleans()):  # this session is closed (else: device still connected)
            reason = draw(st.sampled_from(["normal", "keepalive_timeout", "tcp_closed", "kicked"]))
            events.append(PresenceEvent("disconnected", t, reason))
            t += draw(st.integers(1, 10_000))
        else:  # a new connection takes the session over: its disconnect comes *after*
            events.append(PresenceEvent("connected", t))
            events.append(PresenceEvent("disconnected", t + 1, "takenover"))
            t += draw(st.integers(2, 10_000))
    return events


def truth(events: list[PresenceEvent]) -> bool:
    """Online iff the last real event is a connect (takeover disconnects are not offline)."""
    real = [e for e in events if not (e.kind == "disconnected" and e.reason == "takenover")]
    return max(real, key=lambda e: (e.at_ms, e.kind == "disconnected")).kind == "connected"


@given(sessions(), st.data())
def test_any_delivery_order_gives_the_true_final_state(events, data) -> None:
    # EMQX delivery: each event 1–3 times, in any order.
    counts = data.draw(st.lists(st.integers(1, 3), min_size=len(events), max_size=len(events)))
    copies = [e for e, n in zip(events, counts, strict=True) for _ in range(n)]
    delivered = data.draw(st.permutations(copies))
    state = Presence()
    for event in delivered:
        state = apply(state, event)
    assert state.online == truth(events)


@settings(max_examples=60)
@given(sessions(), st.data())
def test_sql_matches_the_model(events, data) -> None:
    db = fresh_db()
    asyncio.run(db.run("INSERT INTO devices (device_id, mac_address) VALUES (?, 'm')", DEVICE))
    delivered = data.draw(st.permutations(events + events[: len(events) // 2]))
    for event in delivered:
        statement = store.presence_statement(DEVICE, event)
        asyncio.run(db.run(statement.sql, *statement.params))
    row = asyncio.run(db.first("SELECT online, last_seen FROM devices"))
    assert bool(row["online"]) == truth(events)
    assert row["last_seen"] == store.iso_ms(max(e.at_ms for e in events))


def test_a_stale_disconnect_never_marks_a_reconnected_device_offline() -> None:
    state = Presence()
    for event in (
        PresenceEvent("connected", 100),
        PresenceEvent("connected", 300),  # reconnect
        PresenceEvent("disconnected", 200, "keepalive_timeout"),  # the old session, late
    ):
        state = apply(state, event)
    assert state.online


@given(
    order=st.permutations(["state-1.0.0", "state-1.1.0", "telemetry"]),
)
def test_the_newest_state_sets_the_version_whatever_else_moved_last_seen(order) -> None:
    """Telemetry received after the state (EMQX keeps no order between rules) moves last_seen
    past it; the state's version must still be applied."""
    db = fresh_db()
    me = enroll_one(db, "AA:BB:CC:00:08:01")
    t = 1_795_000_000_000
    for step in order:
        if step == "telemetry":
            e = envelope(me, "m-1")
            e["publish_received_at"] = e["timestamp"] = t + 5_000  # newest of all
            asyncio.run(db.batch(statements([to_row(parse_envelope(e))])))
        else:
            version = step.split("-")[1]
            at = t + (2_000 if version == "1.1.0" else 1_000)
            s = store.state_statement(me, store.StateFacts(version), at)
            asyncio.run(db.run(s.sql, *s.params))
    assert asyncio.run(store.get_device(db, me))["firmware_version"] == "1.1.0"
