"""Monitoring's store (alerts, api_stats, security_log, report queries) straight on SQLite."""

import asyncio
import json

from hypothesis import given, settings
from hypothesis import strategies as st

from helpers import enroll_one, fresh_db
from rs1 import security_log
from rs1.devices import store as devices
from rs1.devices.presence import PresenceEvent
from rs1.monitoring import store
from rs1.monitoring.checks import Finding


def run(coro):
    return asyncio.run(coro)


def finding(firing: bool, message: str = "m", alert_id: str = "a") -> Finding:
    return Finding(alert_id, "kind", None, firing, message, 0.5, 0.1)


def test_ping_answers(db) -> None:
    assert run(store.ping(db)) is None


def test_security_events_are_recorded_and_counted(db) -> None:
    run(security_log.record_security_event(db, security_log.ACL_VIOLATION, {"b": 2, "a": 1}))
    run(security_log.record_security_event(db, security_log.ACL_VIOLATION, {}, "9" * 100))
    run(security_log.record_security_event(db, security_log.ADMIN_API_ACCESS, {}))
    rows = run(db.all("SELECT event_type, details, ip, timestamp FROM security_log ORDER BY id"))
    assert rows[0]["details"] == json.dumps({"a": 1, "b": 2}) and rows[0]["ip"] == ""
    assert rows[1]["ip"] == "9" * 64  # clipped
    assert all(r["timestamp"] for r in rows)
    assert run(store.security_event_counts(db)) == {"acl_violation": 2, "admin_api_access": 1}


def test_api_counts_add_up_per_minute_and_worker(db) -> None:
    run(store.add_api_counts(db, "w1", [(10, 5, 1), (11, 3, 0)]))
    run(store.add_api_counts(db, "w1", [(11, 2, 2)]))
    run(store.add_api_counts(db, "w2", [(11, 1, 0)]))
    rows = run(db.all("SELECT * FROM api_stats ORDER BY minute, worker"))
    assert [(r["minute"], r["worker"], r["requests"], r["errors"]) for r in rows] == [
        (10, "w1", 5, 1),
        (11, "w1", 5, 2),
        (11, "w2", 1, 0),
    ]
    assert run(store.api_totals(db, 11)) == (6, 2)
    assert run(store.api_totals(db, 12)) == (0, 0)


def test_an_alert_opens_once_and_resolves_once(db) -> None:
    assert run(store.open_alert(db, finding(True), "t1"))
    assert not run(store.open_alert(db, finding(True), "t2"))  # already open
    assert run(store.refresh_open_alert(db, "a", "newer", 0.7, "t3"))
    assert run(store.open_alert_count(db)) == 1
    assert run(store.resolve_alert(db, "a", "fine", 0.0, "t4"))
    assert not run(store.resolve_alert(db, "a", "fine", 0.0, "t5"))  # already resolved
    assert not run(store.refresh_open_alert(db, "a", "x", 0.0, "t6"))
    (alert,) = run(store.list_alerts(db, None))
    assert alert["status"] == "resolved" and alert["message"] == "fine"
    assert alert["opened_at"] == "t1" and alert["resolved_at"] == "t4"
    assert run(store.open_alert_count(db)) == 0
    assert run(store.open_alert(db, finding(True), "t7"))  # reopens
    (alert,) = run(store.list_alerts(db, "open"))
    assert alert["opened_at"] == "t7" and alert["resolved_at"] is None


def test_a_raised_event_alert_refreshes_and_keeps_when_it_opened(db) -> None:
    """An event (a rollout abort) reopens or refreshes its alert every time it is raised."""
    run(store.raise_alert(db, finding(True, "first"), "t1"))
    run(store.raise_alert(db, finding(True, "again"), "t2"))  # open: refreshed anyway
    (alert,) = run(store.list_alerts(db, "open"))
    assert (alert["message"], alert["opened_at"], alert["updated_at"]) == ("again", "t1", "t2")
    assert alert["value"] is None
    run(store.resolve_alert(db, "a", "fine", 0.0, "t3"))
    run(store.raise_alert(db, finding(True, "third"), "t4"))
    (alert,) = run(store.list_alerts(db, "open"))
    assert (alert["message"], alert["opened_at"], alert["resolved_at"]) == ("third", "t1", None)


def test_alerts_list_by_status_newest_first(db) -> None:
    for i, alert_id in enumerate(["x", "y", "z"]):
        run(store.open_alert(db, finding(True, alert_id=alert_id), f"t{i}"))
    run(store.resolve_alert(db, "y", "ok", None, "t9"))
    assert [a["alert_id"] for a in run(store.list_alerts(db, None))] == ["y", "z", "x"]
    assert [a["alert_id"] for a in run(store.list_alerts(db, "open"))] == ["z", "x"]
    assert [a["alert_id"] for a in run(store.list_alerts(db, "resolved"))] == ["y"]
    assert len(run(store.list_alerts(db, None, limit=2))) == 2


@settings(max_examples=50, deadline=None)
@given(st.lists(st.booleans(), max_size=10))
def test_transitions_follow_the_firing_sequence(firing) -> None:
    """Opened on each rise, resolved on each fall, nothing while the state holds."""
    db = fresh_db()
    seen, was = [], False
    for i, now in enumerate(firing):
        f = finding(now)
        if now:
            refreshed = run(store.refresh_open_alert(db, "a", f.message, f.value, str(i)))
            opened = not refreshed and run(store.open_alert(db, f, str(i)))
            seen.append("opened" if opened else None)
        else:
            resolved = run(store.resolve_alert(db, "a", f.message, f.value, str(i)))
            seen.append("resolved" if resolved else None)
    expected = []
    for now in firing:
        expected.append(("opened" if now else "resolved") if now != was else None)
        was = now
    assert seen == expected


def test_report_queries(db) -> None:
    ids = [enroll_one(db, f"AA:BB:CC:00:30:{i:02X}") for i in range(3)]
    run(devices.apply_presence(db, ids[0], PresenceEvent("connected", 1_000)))
    run(devices.apply_presence(db, ids[1], PresenceEvent("connected", 1_000)))
    run(devices.set_status(db, ids[1], devices.REVOKED, "t"))
    assert run(store.active_device_counts(db)) == (2, 1)

    insert = (
        "INSERT INTO ota_rollouts (rollout_id, model, firmware_version, firmware_url, "
        "firmware_sha256, status) VALUES (?, ?, '2.0.0', 'u', 's', ?)"
    )  # one unfinished rollout per model
    run(db.run(insert, "r1", "RS-1", "active"))
    run(db.run(insert, "r2", "RS-1", "completed"))
    run(db.run(insert, "r3", "RS-2", "paused"))
    for device_id, status in zip(ids, ["failed", "success", "downloading"], strict=True):
        run(
            db.run(
                "INSERT INTO ota_device_status (device_id, rollout_id, status) VALUES (?, 'r1', ?)",
                device_id,
                status,
            )
        )
    outcomes = sorted(run(store.rollout_outcomes(db, ("active", "running", "paused"))))
    assert outcomes == [("r1", 1, 2), ("r3", 0, 0)]

    for n, at in enumerate([100, 150, 250, 1_000]):
        run(
            db.run(
                "INSERT INTO telemetry_raw (device_id, message_id, kind, topic, ts, received_at, "
                "hour, payload) VALUES (?, ?, 'health', 't', 1, ?, 0, '{}')",
                ids[0],
                f"m{n}",
                at,
            )
        )
    assert run(store.telemetry_windows(db, 100, 100, 1_000)) == {0: 2, 1: 1}
