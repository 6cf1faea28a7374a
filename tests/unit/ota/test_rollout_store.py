"""The rollout store (ota_rollouts, ota_device_status), straight on SQLite with the real
migrations: each conditional statement refuses a stale transition, and device status ranks
follow rs1.ota.device_status.RANK whatever path wrote them."""

import asyncio
import json

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from helpers import NOW, enroll_one, fresh_db
from rs1.devices import store as devices
from rs1.ota import rollout_store as rs
from rs1.ota.device_status import CANCELLABLE, DEVICE_REPORTED, IN_PROGRESS, RANK, accepts

T0 = int(NOW * 1000)
SHA = "ab" * 32


def run(coro):
    return asyncio.run(coro)


def rollout(db, rollout_id: str = "r-1", model: str = "RS-1", version: str = "2.0.0") -> bool:
    return run(
        rs.insert_rollout(
            db,
            rollout_id=rollout_id,
            model=model,
            version=version,
            url=f"https://ota.example/firmware/{model}/{version}.bin",
            sha256=SHA,
            size=4096,
            signature="c2ln",
            stages=[{"percent": 10}, {"percent": 100}],
            target_percent=10,
            threshold=0.02,
            timeout_minutes=60,
            allow_downgrade=False,
            device_ids=["x"],
            now_ms=T0,
        )
    )


def finish(db, rollout_id: str, status: str = rs.COMPLETED) -> None:
    assert run(rs.set_rollout_status(db, rollout_id, status, "test", T0, rs.LIVE))


def device(db, n: int, *, online: bool = False, version: str | None = None) -> str:
    device_id = enroll_one(db, f"AA:BB:CC:00:20:{n:02X}")
    run(
        db.run(
            "UPDATE devices SET online = ?, firmware_version = ? WHERE device_id = ?",
            int(online),
            version,
            device_id,
        )
    )
    return device_id


def put(db, device_id: str, status: str, rollout_id: str = "r-1", at: int = T0) -> None:
    """A device row in `status`, through the store's own upsert (a new row takes any)."""
    run(rs.write_statuses(db, [rs.upsert_status(rollout_id, 0, device_id, status, "1.0.0", at)]))


def row(db, device_id: str, rollout_id: str = "r-1") -> dict:
    found = run(
        db.first(
            "SELECT * FROM ota_device_status WHERE device_id = ? AND rollout_id = ?",
            device_id,
            rollout_id,
        )
    )
    assert found is not None
    return found


def ranks_follow_the_table(db) -> None:
    for r in run(db.all("SELECT status, status_rank FROM ota_device_status")):
        assert r["status_rank"] == RANK[r["status"]], r


# --- rollouts --------------------------------------------------------------------------------


def test_a_model_has_one_live_rollout_at_a_time(db) -> None:
    assert rollout(db, "r-1")
    assert not rollout(db, "r-2")  # same model, r-1 is live
    assert rollout(db, "r-3", model="RS-2")
    finish(db, "r-1")
    assert rollout(db, "r-2")


def test_an_inserted_rollout_reads_back(db) -> None:
    rollout(db)
    found = run(rs.get_rollout(db, "r-1"))
    assert found is not None
    assert (found["status"], found["current_stage"], found["stage_started_at"]) == (
        rs.ACTIVE,
        0,
        T0,
    )
    assert json.loads(found["stages_json"]) == [{"percent": 10}, {"percent": 100}]
    assert json.loads(found["device_ids_json"]) == ["x"]
    assert (found["firmware_size"], found["allow_downgrade"], found["target_percent"]) == (
        4096,
        0,
        10,
    )
    assert run(rs.rollout_status(db, "r-1")) == rs.ACTIVE
    assert run(rs.get_rollout(db, "r-9")) is None
    assert run(rs.rollout_status(db, "r-9")) is None


def test_a_status_change_from_a_status_it_does_not_allow_changes_nothing(db) -> None:
    rollout(db)
    assert run(rs.set_rollout_status(db, "r-1", rs.PAUSED, "paused", T0, rs.LIVE))
    # Completing needs an active rollout: this one was paused meanwhile.
    assert not run(rs.set_rollout_status(db, "r-1", rs.COMPLETED, "done", T0, (rs.ACTIVE,)))
    found = run(rs.get_rollout(db, "r-1"))
    assert (found["status"], found["status_reason"]) == (rs.PAUSED, "paused")  # type: ignore[index]
    assert not run(rs.set_rollout_status(db, "r-9", rs.PAUSED, "x", T0, rs.LIVE))


def test_a_stage_moves_once_and_only_while_active(db) -> None:
    rollout(db)
    assert run(rs.move_stage(db, "r-1", 0, 1, 100, 100, "next", T0 + 5))
    assert not run(rs.move_stage(db, "r-1", 0, 1, 100, 100, "next", T0 + 6))  # stale from_stage
    found = run(rs.get_rollout(db, "r-1"))
    assert (found["current_stage"], found["stage_started_at"]) == (1, T0 + 5)  # type: ignore[index]
    assert run(rs.set_rollout_status(db, "r-1", rs.PAUSED, "p", T0, rs.LIVE))
    assert not run(rs.move_stage(db, "r-1", 1, 2, 100, 100, "next", T0 + 7))


def test_live_and_recent_rollouts(db) -> None:
    for n, (rid, model) in enumerate([("r-a", "RS-1"), ("r-b", "RS-2"), ("r-c", "RS-3")]):
        rollout(db, rid, model)
        at = f"2000-01-01 00:00:0{n}"
        run(db.run("UPDATE ota_rollouts SET created_at = ? WHERE rollout_id = ?", at, rid))
    assert run(rs.set_rollout_status(db, "r-b", rs.PAUSED, "p", T0, rs.LIVE))
    finish(db, "r-c")
    assert [r["rollout_id"] for r in run(rs.live_rollouts(db))] == ["r-a", "r-b"]
    assert [r["rollout_id"] for r in run(rs.live_rollouts(db, "RS-2"))] == ["r-b"]
    assert run(rs.live_rollouts(db, "RS-3")) == []
    assert run(rs.recent_rollout_ids(db)) == ["r-c", "r-b", "r-a"]
    assert run(rs.recent_rollout_ids(db, limit=2)) == ["r-c", "r-b"]


@pytest.mark.parametrize("status", sorted(RANK))
def test_an_aborted_rollout_is_listed_while_a_device_is_in_flight(db, status) -> None:
    rollout(db)
    rollout(db, "r-2", model="RS-2")
    me = device(db, 1)
    put(db, me, status)
    put(db, me, status, rollout_id="r-2")  # live: never listed
    finish(db, "r-1", rs.ABORTED)
    listed = [r["rollout_id"] for r in run(rs.aborted_with_devices_in_flight(db))]
    assert listed == (["r-1"] if status in IN_PROGRESS else [])


# --- device rows -----------------------------------------------------------------------------


def test_an_upsert_moves_a_row_only_from_pending(db) -> None:
    rollout(db)
    me = device(db, 1)
    put(db, me, "pending")
    assert run(rs.get(db, me, "r-1")) == {"status": "pending", "progress": None}
    put(db, me, "triggered", at=T0 + 1)
    put(db, me, "triggered", at=T0 + 2)  # no longer pending: refused
    put(db, me, "skipped", at=T0 + 3)
    found = row(db, me)
    assert (found["status"], found["trigger_count"], found["triggered_at"]) == (
        "triggered",
        1,
        T0 + 1,
    )
    assert run(rs.get(db, me, "r-9")) is None
    ranks_follow_the_table(db)


def test_statuses_are_counted_per_rollout(db) -> None:
    rollout(db)
    rollout(db, "r-2", model="RS-2")
    for n, status in enumerate(["pending", "pending", "failed", "success"]):
        put(db, device(db, n), status)
    put(db, device(db, 9), "failed", rollout_id="r-2")
    assert run(rs.status_counts(db, "r-1")) == {"pending": 2, "failed": 1, "success": 1}
    assert run(rs.status_counts(db, "r-9")) == {}


def test_enrol_candidates_are_active_devices_of_the_model_without_a_started_row(db) -> None:
    rollout(db)
    fresh, waiting, started, revoked = (device(db, n) for n in range(4))
    unlabelled, other = (device(db, n) for n in (4, 5))
    run(db.run("UPDATE devices SET model = 'RS-1' WHERE device_id <> ?", unlabelled))
    run(db.run("UPDATE devices SET model = 'RS-2' WHERE device_id = ?", other))
    run(devices.set_status(db, revoked, devices.REVOKED, "t"))
    put(db, waiting, "pending")
    put(db, started, "triggered")
    found = run(rs.enrol_candidates(db, "r-1", "RS-1", "RS-1"))
    assert [(r["device_id"], r["status"]) for r in found] == sorted(
        [(fresh, None), (waiting, "pending"), (unlabelled, None)]
    )
    assert [r["device_id"] for r in run(rs.enrol_candidates(db, "r-1", "RS-1", "RS-9"))] == sorted(
        [fresh, waiting]
    )


def test_online_pending_devices_that_do_not_run_the_version(db) -> None:
    rollout(db)
    wanted = [device(db, n, online=True, version="1.0.0") for n in range(3)]
    offline = device(db, 3)
    current = device(db, 4, online=True, version="2.0.0")
    started = device(db, 5, online=True)
    for d in [*wanted, offline, current]:
        put(db, d, "pending")
    put(db, started, "triggered")
    promoted = run(rs.promote_pending(db, "r-1", "2.0.0", 2, rs.Gates(), T0))
    assert len(promoted) == 2 and set(promoted) <= set(wanted)
    rest = run(rs.promote_pending(db, "r-1", "2.0.0", 10, rs.Gates(), T0))
    assert sorted(promoted + rest) == sorted(wanted)
    assert row(db, offline)["status"] == row(db, current)["status"] == "pending"


def test_the_offer_is_the_newest_unfinished_rollout_that_triggered_the_device(db) -> None:
    rollout(db, "r-old")
    run(db.run("UPDATE ota_rollouts SET created_at = '2000-01-01 00:00:00'"))
    finish(db, "r-old")
    rollout(db, "r-new", version="3.0.0")
    me = device(db, 1)
    put(db, me, "pending", rollout_id="r-old")
    assert run(rs.pending_offer(db, me, "RS-1")) is None  # pending: offered through the gates
    put(db, me, "triggered", rollout_id="r-old")
    assert run(rs.pending_offer(db, me, "RS-1"))["rollout_id"] == "r-old"  # type: ignore[index]
    put(db, me, "downloading", rollout_id="r-new")
    assert run(rs.pending_offer(db, me, "RS-1"))["rollout_id"] == "r-new"  # type: ignore[index]
    assert run(rs.pending_offer(db, me, "RS-2")) is None
    finish(db, "r-new", rs.ABORTED)
    run(rs.cancel_all(db, "r-old", T0))
    assert run(rs.pending_offer(db, me, "RS-1")) is None


def test_a_device_shows_its_part_in_live_rollouts_only(db) -> None:
    rollout(db, "r-1")
    rollout(db, "r-2", model="RS-2")
    rollout(db, "r-3", model="RS-3")
    me = device(db, 1)
    put(db, me, "downloading", rollout_id="r-1")
    put(db, me, "skipped", rollout_id="r-2")
    put(db, me, "pending", rollout_id="r-3")
    finish(db, "r-3")
    assert run(rs.active_for_device(db, me)) == [
        {
            "rollout_id": "r-1",
            "firmware_version": "2.0.0",
            "status": "downloading",
            "progress": None,
        }
    ]


# --- triggers ------------------------------------------------------------------------------


def test_a_send_is_claimed_once_per_grace_and_at_most_max_times(db) -> None:
    rollout(db)
    me = device(db, 1)
    put(db, me, "pending")
    sendable = run(rs.sendable_for_device(db, me, 2, T0))
    assert [(r["rollout_id"], r["device_status"]) for r in sendable] == [("r-1", "pending")]
    assert run(rs.claim_send(db, "r-1", me, 2, T0, T0 + 1))
    assert not run(rs.claim_send(db, "r-1", me, 2, T0, T0 + 1))  # the racing webhook
    assert run(rs.sendable_for_device(db, me, 2, T0)) == []
    assert run(rs.claim_send(db, "r-1", me, 2, T0 + 10, T0 + 10))  # a later connection
    assert not run(rs.claim_send(db, "r-1", me, 2, T0 + 20, T0 + 20))  # capped at 2
    assert (row(db, me)["status"], row(db, me)["trigger_count"]) == ("triggered", 2)
    ranks_follow_the_table(db)


def test_no_send_to_a_device_that_runs_the_version_or_of_an_aborted_rollout(db) -> None:
    rollout(db)
    current = device(db, 1, version="2.0.0")
    other = device(db, 2)
    put(db, current, "pending")
    put(db, other, "pending")
    assert not run(rs.claim_send(db, "r-1", current, 3, T0, T0))
    finish(db, "r-1", rs.ABORTED)
    assert run(rs.sendable_for_device(db, other, 3, T0)) == []


def test_a_released_claim_restores_the_row_unless_it_moved_on(db) -> None:
    rollout(db)
    me = device(db, 1)
    put(db, me, "pending")
    assert run(rs.claim_send(db, "r-1", me, 3, T0, T0 + 1))
    run(rs.release_send(db, "r-1", me, "pending", None, None, T0 + 99))  # not our claim
    assert row(db, me)["status"] == "triggered"
    run(rs.release_send(db, "r-1", me, "pending", None, None, T0 + 1))
    found = row(db, me)
    assert (found["status"], found["trigger_count"], found["triggered_at"]) == ("pending", 0, None)
    assert run(rs.claim_send(db, "r-1", me, 3, T0, T0 + 2))
    assert run(rs.record_report(db, me, "r-1", "downloading", 5, None, T0 + 3))
    run(rs.release_send(db, "r-1", me, "pending", None, None, T0 + 2))  # it moved on
    assert row(db, me)["status"] == "downloading"
    ranks_follow_the_table(db)


# --- ends ----------------------------------------------------------------------------------


def test_cancels_touch_only_devices_that_have_not_started_installing(db) -> None:
    rollout(db)
    ids = {status: device(db, n) for n, status in enumerate(sorted(RANK))}
    for status, d in ids.items():
        put(db, d, status)
    expected = sorted(ids[s] for s in CANCELLABLE)
    assert sorted(run(rs.cancellable_device_ids(db, "r-1"))) == expected
    first, *rest = expected
    run(rs.cancel_devices(db, "r-1", [first, ids["installing"]], T0))
    assert row(db, first)["status"] == "cancelled"
    assert sorted(run(rs.cancellable_device_ids(db, "r-1"))) == rest
    run(rs.cancel_all(db, "r-1", T0))
    for status, d in ids.items():
        assert row(db, d)["status"] == ("cancelled" if status in CANCELLABLE else status)
    ranks_follow_the_table(db)


def test_a_cancel_of_many_devices_is_chunked(db) -> None:
    rollout(db)
    many = [device(db, n) for n in range(95)]  # more than one statement's worth
    run(rs.write_statuses(db, [rs.upsert_status("r-1", 0, d, "pending", None, T0) for d in many]))
    run(rs.cancel_devices(db, "r-1", many, T0))
    assert run(rs.status_counts(db, "r-1")) == {"cancelled": 95}


def test_silent_devices_in_progress_time_out(db) -> None:
    rollout(db)
    old, recent, done, waiting = (device(db, n) for n in range(4))
    put(db, old, "triggered", at=T0)
    put(db, recent, "triggered", at=T0)
    assert run(rs.record_report(db, recent, "r-1", "downloading", 40, None, T0 + 50))
    put(db, done, "success")
    put(db, waiting, "pending")
    assert run(rs.time_out(db, "r-1", T0 + 10, T0 + 60)) == 1
    found = row(db, old)
    assert (found["status"], found["error_message"]) == ("timed_out", "no report within timeout")
    assert [row(db, d)["status"] for d in (recent, done, waiting)] == [
        "downloading",
        "success",
        "pending",
    ]
    ranks_follow_the_table(db)


def test_a_device_running_the_version_confirms_the_rollouts_it_took_part_in(db) -> None:
    rollout(db, "r-1")
    rollout(db, "r-2", model="RS-2")
    rollout(db, "r-3", model="RS-3")
    rollout(db, "r-4", model="RS-4", version="3.0.0")
    me = device(db, 1)
    put(db, me, "triggered", rollout_id="r-1")  # took part
    put(db, me, "pending", rollout_id="r-2")  # never triggered
    put(db, me, "cancelled", rollout_id="r-3")  # an end that stays
    put(db, me, "triggered", rollout_id="r-4")  # another version
    assert run(rs.confirm_installed(db, me, "2.0.0", T0)) == ["r-1"]
    assert [row(db, me, r)["status"] for r in ("r-1", "r-2", "r-3", "r-4")] == [
        "success",
        "skipped",
        "cancelled",
        "triggered",
    ]
    assert (row(db, me, "r-1")["progress"], row(db, me, "r-2")["error_message"]) == (
        100,
        "already_installed",
    )
    assert run(rs.confirm_installed(db, me, "2.0.0", T0)) == []  # already counted
    ranks_follow_the_table(db)


def test_a_keepalive_report_keeps_a_waiting_device_from_timing_out(db) -> None:
    """A device waiting out a cloud outage repeats its unchanged progress: applied, it
    refreshes progress_at, the clock of the per-device timeout (5 minutes by default)."""
    rollout(db)
    waiting, silent = device(db, 1), device(db, 2)
    for d in (waiting, silent):
        put(db, d, "triggered", at=T0)
        assert run(rs.record_report(db, d, "r-1", "downloading", 40, None, T0 + 1_000))
    minute = 60_000
    for n in range(1, 6):  # keep-alives, one a minute, progress unchanged
        assert run(rs.record_report(db, waiting, "r-1", "downloading", 40, None, T0 + n * minute))
    assert row(db, waiting)["progress_at"] == T0 + 5 * minute
    now = T0 + 5 * minute + 30_000
    assert run(rs.time_out(db, "r-1", now - 5 * minute, now)) == 1
    assert [row(db, d)["status"] for d in (waiting, silent)] == ["downloading", "timed_out"]
    # a late keep-alive never revives a timed-out row, nor moves one back from verifying
    assert not run(rs.record_report(db, silent, "r-1", "downloading", 40, None, now))
    assert run(rs.record_report(db, waiting, "r-1", "verifying", None, None, now))
    assert not run(rs.record_report(db, waiting, "r-1", "downloading", 40, None, now + 1))
    assert row(db, waiting)["status"] == "verifying" and row(db, silent)["status"] == "timed_out"
    ranks_follow_the_table(db)


# --- every path together: a device row only moves forward --------------------------------------

ENDS_THAT_STAY = ("success", "cancelled", "skipped")


class DeviceRow(RuleBasedStateMachine):
    """One device's row in one rollout, moved by every store transition in any order: the
    rank never goes down, always matches RANK, ends stay ends, and a report applies exactly
    when device_status.accepts() says so."""

    def __init__(self) -> None:
        super().__init__()
        self.db = fresh_db()
        rollout(self.db)
        self.me = device(self.db, 1)
        put(self.db, self.me, "pending")
        self.now = T0
        self.last = row(self.db, self.me)

    def _moved(self) -> dict:
        self.now += 1_000
        before, self.last = self.last, row(self.db, self.me)
        if before["status"] in ENDS_THAT_STAY:
            assert self.last["status"] == before["status"], (before, self.last)
        assert self.last["status_rank"] >= before["status_rank"], (before, self.last)
        return before

    @rule(status=st.sampled_from(DEVICE_REPORTED), progress=st.none() | st.integers(0, 100))
    def report(self, status: str, progress: int | None) -> None:
        applied = run(rs.record_report(self.db, self.me, "r-1", status, progress, None, self.now))
        before = self._moved()
        assert applied == accepts(before["status"], before["progress"], status, progress)

    @rule()
    def trigger(self) -> None:
        run(rs.claim_send(self.db, "r-1", self.me, 3, self.now - 500, self.now))
        self._moved()

    @rule()
    def time_out(self) -> None:
        run(rs.time_out(self.db, "r-1", self.now - 500, self.now))
        self._moved()

    @rule()
    def cancel(self) -> None:
        run(rs.cancel_all(self.db, "r-1", self.now))
        self._moved()

    @rule()
    def installed(self) -> None:
        run(rs.confirm_installed(self.db, self.me, "2.0.0", self.now))
        self._moved()

    @invariant()
    def rank_follows_the_table(self) -> None:
        assert self.last["status_rank"] == RANK[self.last["status"]]


DeviceRow.TestCase.settings = settings(
    max_examples=60,
    stateful_step_count=15,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
test_a_device_row_only_moves_forward = DeviceRow.TestCase
