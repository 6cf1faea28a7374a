"""Every check-then-write path, raced: the database decides, whatever the interleaving.

Each test runs its callers at once over `Interleaved`, which yields to the event loop a random
number of times before every statement, so hypothesis explores interleavings between any two
statements of the racing calls. (The same races run over HTTP against the local runtime in
tests/integration/test_races.py.)
"""

import asyncio
import json
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpers import NOW, Clock, Interleaved, enroll_one, fresh_db, gather, unit_services
from rs1.devices import ownership_store as ownership
from rs1.devices.enrollment import EnrollItem, enroll
from rs1.identity.sessions import is_live, start_session
from rs1.monitoring.checks import Finding
from rs1.monitoring.job import _apply
from rs1.ota import rollout_store as status_store
from rs1.ota import rollouts as ro
from rs1.ota.device_status import RANK
from rs1.services import HttpResult
from rs1.storage.database import StorageError

RACES = settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
interleavings = st.randoms(use_true_random=False)
T0 = int(NOW * 1000)


class Emqx:
    """EMQX's publish API: every message is delivered; counts what was published."""

    def __init__(self) -> None:
        self.published: list[dict] = []

    async def request(self, method, url, headers, body=None) -> HttpResult:
        await asyncio.sleep(0)
        messages = json.loads(body)
        messages = messages if isinstance(messages, list) else [messages]
        self.published += messages
        answer = [{"id": "x"} for _ in messages]
        return HttpResult(200, json.dumps(answer if "bulk" in url else answer[0]).encode())


def racing(rnd: random.Random):
    """Services over one fresh database, as seen by racing requests."""
    db = fresh_db()
    svc = unit_services(db, Clock())  # type: ignore[arg-type]
    svc.db = Interleaved(db, rnd)  # type: ignore[assignment]
    svc.http = Emqx()
    return svc, db


# --- ownership -------------------------------------------------------------------------------


@RACES
@given(rnd=interleavings)
def test_racing_claims_make_one_owner(rnd) -> None:
    svc, db = racing(rnd)
    me = enroll_one(db, "AA:BB:CC:00:01:01")
    results = gather(*(ownership.claim(svc.db, me, f"user-{i}") for i in range(10)))
    assert sum(r is True for r in results) == 1
    assert sum(isinstance(r, ownership.AlreadyClaimed) for r in results) == 9
    owners = asyncio.run(db.all("SELECT user_id FROM device_ownership WHERE role = 'owner'"))
    assert len(owners) == 1


def test_a_second_owner_is_refused_by_the_database_itself(db) -> None:
    """Whatever code path writes it: the partial unique index of migration 0007."""
    me = enroll_one(db, "AA:BB:CC:00:01:02")
    insert = "INSERT INTO device_ownership (device_id, user_id, role) VALUES (?, ?, ?)"
    asyncio.run(db.run(insert, me, "olga", "owner"))
    asyncio.run(db.run(insert, me, "victor", "viewer"))
    with pytest.raises(StorageError) as caught:
        asyncio.run(db.run(insert, me, "mallory", "owner"))
    assert caught.value.is_constraint_violation
    with pytest.raises(StorageError):  # nor can a viewer be promoted past the owner
        asyncio.run(db.run("UPDATE device_ownership SET role = 'owner' WHERE user_id = 'victor'"))


@RACES
@given(rnd=interleavings)
def test_racing_claims_by_one_user_and_shares_keep_roles_apart(rnd) -> None:
    svc, db = racing(rnd)
    me = enroll_one(db, "AA:BB:CC:00:01:03")
    calls = [ownership.claim(svc.db, me, "olga") for _ in range(3)]
    calls += [ownership.share(svc.db, me, "victor") for _ in range(5)]
    results = gather(*calls)
    assert [r for r in results[:3] if r is True] == [True]  # one claim made her the owner
    assert not any(isinstance(r, BaseException) for r in results)
    roles = asyncio.run(db.all("SELECT user_id, role FROM device_ownership ORDER BY user_id"))
    assert roles == [{"user_id": "olga", "role": "owner"}, {"user_id": "victor", "role": "viewer"}]


# --- enrolment -------------------------------------------------------------------------------


@RACES
@given(rnd=interleavings)
def test_racing_enrolments_of_one_mac_enrol_it_once(rnd) -> None:
    svc, db = racing(rnd)
    item = [EnrollItem("AA:BB:CC:00:02:01", "RS-1")]
    results = gather(*(enroll(svc.db, "k", item, False) for _ in range(5)))
    assert not any(isinstance(r, BaseException) for r in results), results
    assert sum(len(r.enrolled) for r in results) == 1  # type: ignore[union-attr]
    assert sum(len(r.conflicts) for r in results) == 4  # type: ignore[union-attr]
    assert asyncio.run(db.all("SELECT device_id FROM devices")) != []


@RACES
@given(rnd=interleavings)
def test_racing_rotations_each_hand_out_their_own_generation(rnd) -> None:
    svc, db = racing(rnd)
    enroll_one(db, "AA:BB:CC:00:02:02")
    item = [EnrollItem("AA:BB:CC:00:02:02")]
    results = gather(*(enroll(svc.db, "test-master-key", item, True) for _ in range(5)))
    issued = sorted(r.enrolled[0]["key_generation"] for r in results)  # type: ignore[union-attr]
    assert issued == [2, 3, 4, 5, 6]  # no two callers were given the same, stale secret
    stored = asyncio.run(db.first("SELECT key_generation FROM devices"))
    assert stored == {"key_generation": 6}


# --- rollouts --------------------------------------------------------------------------------


def _firmware(db, version: str = "2.0.0") -> dict:
    asyncio.run(
        db.run(
            "INSERT INTO firmware (model, version, size, sha256, signature, object_key, "
            "created_at) VALUES ('RS-1', ?, 4096, ?, 'c2ln', 'k', 'now')",
            version,
            "ab" * 32,
        )
    )
    return asyncio.run(db.first("SELECT * FROM firmware WHERE version = ?", version))


def _new(db, stages=(10, 50, 100)) -> ro.NewRollout:
    return ro.NewRollout(
        model="RS-1",
        version="2.0.0",
        url="https://ota.example/firmware.bin",
        firmware=_firmware(db),
        stages=[{"percent": p} for p in stages],
        threshold=0.02,
        timeout_minutes=60,
        allow_downgrade=False,
        device_ids=[],
    )


@RACES
@given(rnd=interleavings)
def test_racing_rollout_creates_start_one(rnd) -> None:
    svc, db = racing(rnd)
    device = enroll_one(db, "AA:BB:CC:00:02:09")  # in flight: the winner stays live
    asyncio.run(db.run("UPDATE devices SET online = 1 WHERE device_id = ?", device))
    spec = _new(db)
    results = gather(*(ro.create(svc, spec, T0) for _ in range(5)))
    assert sum(isinstance(r, ro.Rollout) for r in results) == 1
    assert sum(isinstance(r, ro.RolloutActive) for r in results) == 4
    live = asyncio.run(db.all("SELECT rollout_id FROM ota_rollouts WHERE status = 'active'"))
    assert len(live) == 1
    # Each refusal names the live rollout: a client retrying a create that answered 503
    # after its insert committed recognises its own.
    for refused in (r for r in results if isinstance(r, ro.RolloutActive)):
        assert refused.details == {"rollout_id": live[0]["rollout_id"], "firmware_version": "2.0.0"}


def test_a_storage_failure_after_the_insert_still_answers_the_created_rollout(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A 503 after the commit would make the caller's retry a 409: the first evaluation is
    left to the cron instead."""
    db = fresh_db()
    svc = unit_services(db, Clock(NOW))

    async def failing(*args: object, **kwargs: object) -> str:
        raise StorageError("D1_ERROR: Network connection lost.")

    monkeypatch.setattr(ro, "evaluate", failing)
    rollout = asyncio.run(ro.create(svc, _new(db), T0))
    stored = asyncio.run(db.all("SELECT rollout_id, status FROM ota_rollouts"))
    assert stored == [{"rollout_id": rollout.rollout_id, "status": "active"}]


def _started(svc, db) -> ro.Rollout:
    return asyncio.run(ro.create(svc, _new(db), T0))


@RACES
@given(rnd=interleavings)
def test_racing_advances_move_one_stage(rnd) -> None:
    svc, db = racing(rnd)
    rollout = _started(svc, db)
    copies = [asyncio.run(ro.load(db, rollout.rollout_id)) for _ in range(5)]  # each caller's
    moved = gather(*(ro.advance(svc, c, T0 + 1, "race") for c in copies))  # type: ignore[arg-type]
    assert moved.count(ro.ACTIVE) == 1 and moved.count(None) == 4  # one moved it, four lost
    assert asyncio.run(ro.load(db, rollout.rollout_id)).current_stage == 1  # type: ignore[union-attr]


@RACES
@given(rnd=interleavings)
def test_a_pause_racing_the_completion_never_revives_a_rollout(rnd) -> None:
    svc, db = racing(rnd)
    rid = _started(svc, db).rollout_id
    done, paused = gather(
        ro.set_status(svc.db, rid, ro.COMPLETED, "done", T0),
        ro.set_status(svc.db, rid, ro.PAUSED, "pause", T0),
    )
    assert (done, paused) in ((True, False), (False, True))
    status = asyncio.run(ro.load(db, rid)).status  # type: ignore[union-attr]
    assert status == (ro.COMPLETED if done else ro.PAUSED)


@RACES
@given(rnd=interleavings)
def test_racing_aborts_cancel_and_alert_once(rnd) -> None:
    svc, db = racing(rnd)
    for i in range(4):
        device = enroll_one(db, f"AA:BB:CC:00:03:0{i}")
        asyncio.run(db.run("UPDATE devices SET online = 1 WHERE device_id = ?", device))
    rollout = asyncio.run(ro.create(svc, _new(db, stages=(100,)), T0))  # all four triggered
    svc.http.published.clear()
    gather(*(ro.abort(svc, rollout, f"abort {i}", T0 + 1) for i in range(5)))
    cancels = [m for m in svc.http.published if '"cancel"' in m["payload"]]
    assert len(cancels) == 4  # one per triggered device, not five each
    alerts = asyncio.run(db.all("SELECT alert_id FROM alerts WHERE kind = 'rollout_aborted'"))
    assert len(alerts) == 1
    assert asyncio.run(ro.load(db, rollout.rollout_id)).status == ro.ABORTED  # type: ignore[union-attr]


@RACES
@given(rnd=interleavings)
def test_no_trigger_outlives_an_abort_it_raced(rnd) -> None:
    """A pass that triggers devices while an abort runs: every device sent a trigger is also
    sent a cancel after it, whichever read saw the other's writes."""
    svc, db = racing(rnd)
    devices = [enroll_one(db, f"AA:BB:CC:00:05:0{i}") for i in range(4)]
    rollout = asyncio.run(ro.create(svc, _new(db, stages=(100,)), T0))  # offline: pending
    asyncio.run(db.run("UPDATE devices SET online = 1"))
    svc.http.published.clear()
    gather(ro.evaluate(svc, rollout, T0 + 1), ro.abort(svc, rollout, "bad", T0 + 1))
    for device in devices:
        sent = [json.loads(m["payload"]) for m in svc.http.published if device in m["topic"]]
        actions = [m.get("action", "install") for m in sent]
        if "install" in actions:
            assert "cancel" in actions[actions.index("install") :], (device, actions)


@RACES
@given(
    rnd=interleavings,
    reports=st.lists(
        st.tuples(
            st.sampled_from(["downloading", "verifying", "installing", "rebooting", "failed"]),
            st.integers(0, 100),
        ),
        min_size=2,
        max_size=8,
    ),
)
def test_racing_reports_never_move_a_device_backwards(rnd, reports) -> None:
    svc, db = racing(rnd)
    me = enroll_one(db, "AA:BB:CC:00:04:01")
    rid = _started(svc, db).rollout_id
    asyncio.run(
        db.run(
            "INSERT INTO ota_device_status (device_id, rollout_id, status, status_rank) "
            "VALUES (?, ?, 'triggered', 1) ON CONFLICT DO UPDATE SET status = 'triggered', "
            "status_rank = 1",
            me,
            rid,
        )
    )
    gather(*(status_store.record_report(svc.db, me, rid, s, p, None, T0) for s, p in reports))
    row = asyncio.run(status_store.get(db, me, rid))
    top = max(RANK[s] for s, _ in reports)
    assert RANK[row["status"]] == top  # type: ignore[index]
    if row["status"] == "downloading":  # type: ignore[index]
        assert row["progress"] == max(p for s, p in reports if s == "downloading")  # type: ignore[index]


# --- alerts and sessions ---------------------------------------------------------------------


def _finding(firing: bool) -> Finding:
    return Finding("online_ratio", "online_ratio", None, firing, "m", 0.5, 0.9)


@RACES
@given(rnd=interleavings)
def test_overlapping_monitoring_runs_report_each_transition_once(rnd) -> None:
    svc, db = racing(rnd)
    opened = gather(*(_apply(svc.db, _finding(True), f"t{i}") for i in range(5)))
    assert opened.count("opened") == 1 and opened.count(None) == 4
    resolved = gather(*(_apply(svc.db, _finding(False), f"u{i}") for i in range(5)))
    assert resolved.count("resolved") == 1 and resolved.count(None) == 4
    row = asyncio.run(db.first("SELECT status FROM alerts"))
    assert row == {"status": "resolved"}


def test_racing_session_starts_are_distinct_sessions(services) -> None:
    """No check-then-write here: each session is a fresh random jti in KV."""
    kv = services.kv["SESSIONS"]
    results = gather(*(start_session(kv, "s" * 32, "olga", "user", NOW, 600) for _ in range(10)))
    claims = [c for _, c in results]  # type: ignore[misc]
    assert len({c.jti for c in claims}) == 10
    assert all(asyncio.run(is_live(kv, c)) for c in claims)
