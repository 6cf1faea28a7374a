"""Which state changes emit which outbound events: once per occurrence (a repeat of the same
change keeps one id), never for a change that did not happen."""

import asyncio
from collections import Counter

from helpers import enroll_one, fresh_db, random_mac
from rs1.devices.enrollment import EnrollItem, enroll
from rs1.monitoring import store as monitoring
from rs1.monitoring.checks import Finding
from rs1.ota import rollout_store as rs
from rs1.zones import store as zones

AT = 1_795_000_000_000


def run(coro):
    return asyncio.run(coro)


def kinds(db) -> Counter[str]:
    return Counter(r["type"] for r in run(db.all("SELECT type FROM events")))


def test_enrolment_emits_one_event_per_new_device_and_one_per_rotation() -> None:
    db = fresh_db()
    macs = [random_mac() for _ in range(30)]
    run(enroll(db, "k", [EnrollItem(m) for m in macs], False, AT))
    run(enroll(db, "k", [EnrollItem(m) for m in macs[:5]], False, AT))  # conflicts: nothing
    assert kinds(db)["device.enrolled"] == 30
    run(enroll(db, "k", [EnrollItem(macs[0])], True, AT + 1))  # a key rotation
    assert kinds(db)["device.enrolled"] == 31


def test_zone_acks_emit_applied_and_rejected_once_each() -> None:
    db = fresh_db()
    device = enroll_one(db, random_mac())
    assert run(zones.insert_next(db, device, 0, "{}", "2026-01-01T00:00:00Z", "u", 10))
    assert run(zones.mark_applied(db, device, 1, AT))
    assert not run(zones.mark_applied(db, device, 1, AT))  # a duplicate ack
    assert not run(zones.mark_applied(db, device, 7, AT))  # a version that does not exist
    run(zones.mark_rejected(db, device, 1, "bad polygon", AT))
    run(zones.mark_rejected(db, device, 1, "bad polygon", AT))  # a repeat: the same event
    assert kinds(db) == Counter({"device.enrolled": 1, "zone.applied": 1, "zone.rejected": 1})


def _rollout(db, rollout_id: str) -> None:
    assert run(
        rs.insert_rollout(
            db, rollout_id=rollout_id, model="RS-1", version="2.0.0",
            url="https://ota.example/f.bin", sha256="ab" * 32, size=1, signature="c2ln",
            stages=[{"percent": 10}, {"percent": 100}], target_percent=10, threshold=0.02,
            timeout_minutes=60, allow_downgrade=False, device_ids=[], now_ms=AT,
        )
    )  # fmt: skip


def test_rollout_moves_emit_stage_and_end_events_only_when_they_happen() -> None:
    db = fresh_db()
    _rollout(db, "r-1")
    assert run(rs.move_stage(db, "r-1", 0, 1, 100, 100, "auto", AT))
    assert not run(rs.move_stage(db, "r-1", 0, 1, 100, 100, "raced", AT))  # lost the race
    assert run(rs.set_rollout_status(db, "r-1", rs.PAUSED, "ops", AT, rs.LIVE))  # no event type
    assert run(rs.set_rollout_status(db, "r-1", rs.ABORTED, "failing", AT, rs.LIVE))
    assert not run(rs.set_rollout_status(db, "r-1", rs.COMPLETED, "late", AT, rs.LIVE))
    assert kinds(db) == Counter({"rollout.stage_advanced": 1, "rollout.aborted": 1})


def test_a_device_failure_emits_ota_device_failed() -> None:
    db = fresh_db()
    _rollout(db, "r-1")
    device = enroll_one(db, random_mac())
    run(rs.write_statuses(db, [rs.upsert_status("r-1", 0, device, "triggered", "1.0.0", AT)]))
    assert run(rs.record_report(db, device, "r-1", "downloading", 10, None, AT + 1))
    assert run(rs.record_report(db, device, "r-1", "failed", None, "hash", AT + 2))
    assert not run(rs.record_report(db, device, "r-1", "failed", None, "hash", AT + 2))
    assert kinds(db)["ota.device_failed"] == 1


def test_alerts_emit_opened_and_resolved_once_each() -> None:
    db = fresh_db()
    finding = Finding("online_ratio", "online_ratio", None, True, "low", 0.5, 0.9)
    at = "2026-11-28T10:00:00.000Z"
    assert run(monitoring.open_alert(db, finding, at))
    assert not run(monitoring.open_alert(db, finding, at))  # already open
    assert run(monitoring.resolve_alert(db, "online_ratio", "ok", 0.95, "2026-11-28T10:05:00.000Z"))
    assert kinds(db) == Counter({"alert.opened": 1, "alert.resolved": 1})
