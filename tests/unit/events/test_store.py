"""The delivery store's guarantees: leases, results that lost their claim, redelivery, and the
drainer's per-invocation cap."""

import asyncio
from dataclasses import replace

from helpers import Clock, fresh_db, unit_services
from rs1.events import delivery, store
from rs1.events.delivery import run_deliveries
from rs1.outbox.store import NewEvent, statements
from rs1.services import HttpResult

NOW_MS = 1_795_000_000_000


def run(coro):
    return asyncio.run(coro)


class Accepting:
    def __init__(self) -> None:
        self.sent = 0

    async def request(self, method, url, headers, body=None) -> HttpResult:
        self.sent += 1
        return HttpResult(200, b"")


def world():
    db = fresh_db()
    clock = Clock(NOW_MS / 1000)
    svc = unit_services(db, clock)
    settings = replace(svc.settings, events_secret="s", events_disable_after=2)
    return replace(svc, settings=settings, http=Accepting()), clock


def endpoint(svc, endpoint_id: str, types: tuple[str, ...] = ("device.online",)) -> None:
    run(store.add_endpoint(svc.db, {
        "endpoint_id": endpoint_id, "url": f"https://hooks.example/{endpoint_id}",
        "description": "", "event_types": list(types), "created_by": "ops",
        "created_at": "2026-01-01T00:00:00.000Z",
    }))  # fmt: skip


def emit(svc, count: int, kind: str = "device.online") -> list[str]:
    events = [NewEvent(kind, f"k{n}", {"n": n}, NOW_MS + n, "1") for n in range(count)]
    run(svc.db.batch(statements(events)))
    return [e.id for e in events]


def row(svc, sql: str, *params):
    return run(svc.db.first(sql, *params))


def test_a_lease_hides_a_claimed_delivery_until_it_expires() -> None:
    svc, _ = world()
    endpoint(svc, "ep_1")
    emit(svc, 3)
    first = run(store.claim_due(svc.db, NOW_MS + 10, 60_000, 2))
    second = run(store.claim_due(svc.db, NOW_MS + 10, 60_000, 10))
    assert len(first) == 2 and len(second) == 1
    assert not {d["delivery_id"] for d in first} & {d["delivery_id"] for d in second}
    assert run(store.claim_due(svc.db, NOW_MS + 20, 60_000, 10)) == []
    again = run(store.claim_due(svc.db, NOW_MS + 60_011, 60_000, 10))
    assert len(again) == 3 and {d["attempts"] for d in again} == {2}


def test_a_result_that_lost_its_claim_changes_neither_the_delivery_nor_the_endpoint() -> None:
    svc, _ = world()
    endpoint(svc, "ep_1")
    emit(svc, 1)
    (stale,) = run(store.claim_due(svc.db, NOW_MS + 10, 1_000, 1))
    (fresh,) = run(store.claim_due(svc.db, NOW_MS + 2_000, 1_000, 1))  # the lease ran out
    run(store.record_success(svc.db, fresh, NOW_MS + 2_100, 204, 5))
    for _ in range(3):  # the first claim's send answers (late), more than disable_after times
        disabled = run(store.record_failure(
            svc.db, stale, NOW_MS + 2_200, (500, "HTTP 500"), NOW_MS + 9_000, 5, 2
        ))  # fmt: skip
        assert not disabled
    d = row(svc, "SELECT status, attempts, last_status FROM event_deliveries")
    assert (d["status"], d["attempts"], d["last_status"]) == ("delivered", 2, 204)
    e = row(svc, "SELECT enabled, consecutive_failures FROM event_endpoints")
    assert (e["enabled"], e["consecutive_failures"]) == (1, 0)
    logged = run(store.attempts(svc.db, fresh["delivery_id"]))
    assert [(a["attempt"], a["status"]) for a in logged] == [(1, 500), (2, 204)]


def test_redelivery_reopens_every_delivery_and_adds_new_subscribers() -> None:
    svc, _ = world()
    endpoint(svc, "ep_1")
    (event_id,) = emit(svc, 1)
    run(run_deliveries(svc, NOW_MS + 10))
    endpoint(svc, "ep_2")  # subscribed after the event
    endpoint(svc, "ep_3", ("device.offline",))
    ids = run(store.redeliver(svc.db, event_id, NOW_MS + 20))
    assert ids == [f"{event_id}:ep_1", f"{event_id}:ep_2"]
    rows = run(svc.db.all("SELECT status, attempts FROM event_deliveries ORDER BY delivery_id"))
    assert [(r["status"], r["attempts"]) for r in rows] == [("pending", 1), ("pending", 0)]


def test_one_invocation_sends_at_most_its_cap(monkeypatch) -> None:
    svc, _ = world()
    monkeypatch.setattr(delivery, "MAX_SENDS", 120)
    endpoint(svc, "ep_1")
    emit(svc, 130)
    counts = run(run_deliveries(svc, NOW_MS + 1_000))
    assert counts["sent"] == 120 and svc.http.sent == 120  # type: ignore[union-attr]
    pending = row(svc, "SELECT COUNT(*) AS n FROM event_deliveries WHERE status = 'pending'")
    assert pending["n"] == 10


def test_without_an_events_secret_nothing_is_claimed() -> None:
    svc, _ = world()
    svc = replace(svc, settings=replace(svc.settings, events_secret=""))
    endpoint(svc, "ep_1")
    emit(svc, 2)
    assert run(run_deliveries(svc, NOW_MS + 1_000)) == {}
    claimed = row(svc, "SELECT MAX(attempts) AS n FROM event_deliveries")
    assert claimed["n"] == 0


def test_deleting_an_endpoint_kills_its_pending_deliveries() -> None:
    svc, _ = world()
    endpoint(svc, "ep_1")
    emit(svc, 2)
    assert run(store.delete_endpoint(svc.db, "ep_1", "2026-01-02T00:00:00.000Z"))
    assert not run(store.delete_endpoint(svc.db, "ep_1", "2026-01-02T00:00:00.000Z"))
    statuses = run(svc.db.all("SELECT DISTINCT status FROM event_deliveries"))
    assert [r["status"] for r in statuses] == ["dead"]
    assert run(store.endpoints(svc.db)) == []
