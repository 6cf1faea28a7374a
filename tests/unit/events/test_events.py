"""Outbound events: signatures, backoff, the outbox's emission rules, and the drainer's
at-least-once delivery (exactly once by id to a receiver that answers)."""

import asyncio
import json
import random
import time
from collections import Counter
from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from helpers import Clock, Interleaved, enroll_one, fresh_db, gather, random_mac, unit_services
from rs1.devices import store as devices
from rs1.devices.presence import PresenceEvent
from rs1.events import backoff, signing, store
from rs1.events.delivery import run_deliveries
from rs1.events.types import EVENT_TYPES
from rs1.services import HttpResult

# After the wall clock: enrolment stamps its device.enrolled events with it.
T0 = float(int(time.time()) + 60)
MS = int(T0 * 1000)
SECRET = "events-test-secret"


def run(coro):
    return asyncio.run(coro)


class Receiver:
    """An endpoint that fails a seeded share of deliveries (500) and dedups by event id."""

    def __init__(self, fail: float, seed: int, clock: Clock) -> None:
        self.clock = clock
        self.rng = random.Random(seed)
        self.fail = fail
        self.accepted: Counter[str] = Counter()  # event ids answered 2xx, all endpoints
        self.bad_signatures = 0

    async def request(self, method, url, headers, body=None) -> HttpResult:
        await asyncio.sleep(0)
        secret = signing.endpoint_secret(SECRET, url.rsplit("/", 1)[1])
        if not signing.verify(secret, headers["rs1-signature"], body, self.clock()):
            self.bad_signatures += 1
        if self.rng.random() < self.fail:
            return HttpResult(500, b"")
        self.accepted[json.loads(body)["id"]] += 1
        return HttpResult(204, b"")


def world(fail: float = 0.5, seed: int = 1):
    db = fresh_db()
    clock = Clock(T0)
    svc = unit_services(db, clock)
    settings = replace(svc.settings, events_secret=SECRET, events_retry_base_s=1.0)
    svc = replace(svc, settings=settings, http=Receiver(fail, seed, clock))
    return svc, clock


def add_endpoint(svc, endpoint_id: str, types=EVENT_TYPES) -> None:
    run(store.add_endpoint(svc.db, {
        "endpoint_id": endpoint_id, "url": f"https://hooks.example/{endpoint_id}",
        "description": "", "event_types": list(types), "created_by": "ops",
        "created_at": "2026-01-01T00:00:00.000Z",
    }))  # fmt: skip


def connect(svc, device_id: str, at_ms: int, kind: str = "connected") -> None:
    run(devices.apply_presence(svc.db, device_id, PresenceEvent(kind, at_ms)))


def events_of(svc, kind: str) -> list[dict]:
    return run(svc.db.all("SELECT * FROM events WHERE type = ?", kind))


def drain(svc, clock: Clock, rounds: int = 200) -> None:
    for _ in range(rounds):
        run(run_deliveries(svc, int(clock() * 1000), random.Random(0)))
        pending = run(
            svc.db.first("SELECT COUNT(*) AS n FROM event_deliveries WHERE status = 'pending'")
        )
        if not pending["n"]:
            return
        clock.now += 3600  # past any backoff
    raise AssertionError("deliveries still pending")


@given(st.binary(max_size=200), st.integers(0, 2**31), st.text(min_size=1, max_size=20))
def test_a_signature_verifies_and_any_change_breaks_it(body, t, endpoint) -> None:
    secret = signing.endpoint_secret("master", endpoint)
    header = signing.sign(secret, body, t)
    assert signing.verify(secret, header, body, t + 299)
    assert not signing.verify(secret, header, body, t + 301)  # a replay, 5 minutes on
    assert not signing.verify(secret, header, body + b"x", t)
    assert not signing.verify(signing.endpoint_secret("other", endpoint), header, body, t)


@given(st.integers(1, 60), st.floats(0.1, 120), st.integers(0, 2**32))
def test_backoff_doubles_up_to_an_hour_with_jitter(attempt, base, seed) -> None:
    delay = backoff.next_delay_s(attempt, base, random.Random(seed))
    step = min(backoff.CAP_S, base * 2 ** (attempt - 1))
    assert step / 2 <= delay <= step


def test_presence_emits_online_and_offline_once_each_and_only_for_the_newest_fact() -> None:
    svc, _ = world()
    add_endpoint(svc, "ep_a", ["device.online", "device.offline"])
    device = enroll_one(svc.db, random_mac())
    connect(svc, device, 1_000)
    connect(svc, device, 1_000)  # EMQX retried the webhook
    connect(svc, device, 3_000, "disconnected")
    connect(svc, device, 2_000)  # a late connect, older than the disconnect: still offline
    assert len(events_of(svc, "device.online")) == 1
    assert len(events_of(svc, "device.offline")) == 1
    assert run(svc.db.first("SELECT COUNT(*) AS n FROM event_deliveries"))["n"] == 2


def test_unsubscribed_and_disabled_endpoints_get_no_delivery() -> None:
    svc, _ = world()
    add_endpoint(svc, "ep_on", ["device.online"])
    add_endpoint(svc, "ep_off", ["device.offline"])
    add_endpoint(svc, "ep_dis", ["device.online"])
    run(store.update_endpoint(svc.db, "ep_dis", {"enabled": False}))
    connect(svc, enroll_one(svc.db, random_mac()), 1_000)
    rows = run(svc.db.all("SELECT endpoint_id FROM event_deliveries"))
    assert [r["endpoint_id"] for r in rows] == ["ep_on"]


@settings(max_examples=10, deadline=None)
@given(st.integers(0, 2**32))
def test_a_receiver_failing_half_its_deliveries_gets_every_event_exactly_once(seed) -> None:
    svc, clock = world(0.5, seed)
    add_endpoint(svc, "ep_1")
    add_endpoint(svc, "ep_2", ["device.online"])
    for k in range(12):
        device = enroll_one(svc.db, random_mac())
        connect(svc, device, MS + k)
        connect(svc, device, MS + 1_000 + k, "disconnected")
    drain(svc, clock)
    events = {e["event_id"]: e["type"] for e in run(svc.db.all("SELECT * FROM events"))}
    receiver = svc.http
    expected = Counter(events.keys())  # ep_1: every event; ep_2: the onlines
    expected.update(i for i, kind in events.items() if kind == "device.online")
    assert receiver.accepted == expected and receiver.bad_signatures == 0
    retried = run(svc.db.first("SELECT MAX(attempts) AS n FROM event_deliveries"))["n"]
    assert retried > 1


@settings(max_examples=10, deadline=None)
@given(st.integers(0, 2**32))
def test_two_drainers_at_once_never_send_a_delivery_twice(seed) -> None:
    svc, clock = world(0.0, seed)
    add_endpoint(svc, "ep_1", ["device.online"])
    for k in range(30):
        connect(svc, enroll_one(svc.db, random_mac()), 1_000 + k)
    racing = replace(svc, db=Interleaved(svc.db, random.Random(seed)))
    now = int(clock() * 1000)
    gather(run_deliveries(racing, now), run_deliveries(racing, now))
    assert set(svc.http.accepted.values()) == {1} and len(svc.http.accepted) == 30


def test_a_delivery_is_dead_after_a_day_and_an_endpoint_failing_in_a_row_is_disabled() -> None:
    svc, clock = world(1.0)
    svc = replace(svc, settings=replace(svc.settings, events_disable_after=5))
    add_endpoint(svc, "ep_1", ["device.online"])
    device = enroll_one(svc.db, random_mac())
    connect(svc, device, int(T0 * 1000))
    for _ in range(4):
        run(run_deliveries(svc, int(clock() * 1000)))
        clock.now += 3600
    assert run(store.endpoint(svc.db, "ep_1"))["enabled"] == 1
    run(run_deliveries(svc, int(clock() * 1000)))
    endpoint = run(store.endpoint(svc.db, "ep_1"))
    assert endpoint["enabled"] == 0 and "5 failed" in endpoint["disabled_reason"]
    alert = run(svc.db.first("SELECT * FROM alerts WHERE kind = 'event_endpoint_disabled'"))
    assert alert["status"] == "open" and alert["subject"] == "ep_1"


def test_retries_stop_after_the_maximum_age() -> None:
    svc, clock = world(1.0)
    add_endpoint(svc, "ep_1", ["device.online"])
    connect(svc, enroll_one(svc.db, random_mac()), int(T0 * 1000))
    for _ in range(40):
        run(run_deliveries(svc, int(clock() * 1000)))
        clock.now += 3600
    row = run(svc.db.first("SELECT status, attempts FROM event_deliveries"))
    assert row["status"] == "dead" and 20 <= row["attempts"] <= 30
    log = run(
        store.attempts(
            svc.db, run(svc.db.first("SELECT delivery_id FROM event_deliveries"))["delivery_id"]
        )
    )
    assert len(log) == row["attempts"] and all(a["status"] == 500 for a in log)


def test_redelivery_sends_a_delivered_event_again() -> None:
    svc, clock = world(0.0)
    add_endpoint(svc, "ep_1", ["device.online"])
    connect(svc, enroll_one(svc.db, random_mac()), 1_000)
    drain(svc, clock)
    (event_id,) = svc.http.accepted
    assert run(store.redeliver(svc.db, event_id, int(clock() * 1000))) == [f"{event_id}:ep_1"]
    drain(svc, clock)
    assert svc.http.accepted[event_id] == 2


def test_a_disabled_endpoints_deliveries_wait_and_resume_when_it_is_enabled() -> None:
    svc, clock = world(0.0)
    add_endpoint(svc, "ep_1", ["device.online"])
    run(store.update_endpoint(svc.db, "ep_1", {"enabled": False}))
    run(store.update_endpoint(svc.db, "ep_1", {"enabled": True}))  # subscribed again
    run(store.update_endpoint(svc.db, "ep_1", {"enabled": False}))
    add_endpoint(svc, "ep_2", ["device.online"])
    connect(svc, enroll_one(svc.db, random_mac()), MS)
    run(svc.db.run("UPDATE event_endpoints SET enabled = 0 WHERE endpoint_id = 'ep_2'"))
    run(run_deliveries(svc, int(clock() * 1000)))
    assert not svc.http.accepted
    run(store.update_endpoint(svc.db, "ep_2", {"enabled": True}))
    drain(svc, clock)
    assert list(svc.http.accepted.values()) == [1]
