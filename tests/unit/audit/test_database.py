"""The audited database: a call's record rides in the batch of its first change, and only
then; a change that fails or changes nothing carries no record."""

import asyncio

import pytest

from helpers import enroll_one, fresh_db, random_mac
from rs1.audit.database import AuditedDatabase
from rs1.audit.trail import Actor, AuditTrail, scrub
from rs1.devices import store as devices
from rs1.storage.database import Statement, StorageError


def run(coro):
    return asyncio.run(coro)


def trail(action: str = "device.revoke") -> AuditTrail:
    return AuditTrail(action, Actor("admin", "ops"), "req-1", "192.0.2.1", 1_700_000_000_000)


def records(db) -> list[dict]:
    return run(db.all("SELECT * FROM audit_log ORDER BY seq"))


def test_the_first_change_carries_the_record_and_later_writes_do_not() -> None:
    db = fresh_db()
    device = enroll_one(db, random_mac())
    t = trail()
    audited = AuditedDatabase(db, t)
    result = run(audited.run("UPDATE devices SET status = 'revoked' WHERE device_id = ?", device))
    assert result.changes == 1 and t.written
    run(audited.run("UPDATE devices SET status = 'active' WHERE device_id = ?", device))
    assert [r["action"] for r in records(db)] == ["device.revoke"]


def test_a_write_that_changes_nothing_carries_no_record_and_the_next_one_does() -> None:
    db = fresh_db()
    t = trail()
    audited = AuditedDatabase(db, t)
    result = run(audited.run("UPDATE devices SET status = 'revoked' WHERE device_id = 'none'"))
    assert result.changes == 0 and not t.written and records(db) == []
    run(t.commit(db))  # the app does this for a successful call
    run(t.commit(db))  # and only once
    assert len(records(db)) == 1


def test_a_failing_batch_leaves_neither_the_change_nor_the_record() -> None:
    db = fresh_db()
    device = enroll_one(db, random_mac())
    audited = AuditedDatabase(db, trail())
    bad = [
        Statement("UPDATE devices SET status = 'revoked' WHERE device_id = ?", (device,)),
        Statement("INSERT INTO devices (device_id) VALUES (NULL)"),  # NOT NULL fails
    ]
    with pytest.raises(StorageError):
        run(audited.batch(bad))
    assert records(db) == []
    assert run(devices.get_status(db, device))[0] == "active"


def test_a_changes_probe_after_the_change_still_reads_the_change() -> None:
    db = fresh_db()
    device = enroll_one(db, random_mac())
    audited = AuditedDatabase(db, trail())
    out = run(
        audited.batch(
            [
                Statement("UPDATE devices SET status = 'revoked' WHERE device_id = ?", (device,)),
                Statement("SELECT changes() AS n"),
                Statement("SELECT status FROM devices WHERE device_id = ?", (device,)),
            ]
        )
    )
    assert out[1] == [{"n": 1}] and out[2] == [{"status": "revoked"}]
    assert len(records(db)) == 1


def test_reads_never_write_a_record() -> None:
    db = fresh_db()
    t = trail()
    run(AuditedDatabase(db, t).all("SELECT * FROM devices"))
    assert not t.written and records(db) == []


def test_events_go_in_only_with_their_record() -> None:
    db = fresh_db()
    device = enroll_one(db, random_mac())
    at = "2026-11-28T10:00:00.000Z"
    t = trail()
    t.emit(devices.revoked_event(device, at, 1))
    audited = AuditedDatabase(db, t)
    run(audited.run("UPDATE devices SET status = 'x' WHERE device_id = 'none'"))
    assert run(db.all("SELECT * FROM events WHERE type = 'device.revoked'")) == []
    run(devices.set_status(audited, device, devices.REVOKED, at))
    assert len(run(db.all("SELECT * FROM events WHERE type = 'device.revoked'"))) == 1


def test_summaries_never_hold_secrets() -> None:
    clean = scrub({"device_secret": "s", "key": "k", "nested": [{"api_key": "a", "ok": 1}]})
    assert clean == {"device_secret": "[redacted]", "key": "[redacted]",
                     "nested": [{"api_key": "[redacted]", "ok": 1}]}  # fmt: skip


def test_the_log_is_append_only() -> None:
    db = fresh_db()
    run(trail().commit(db))
    with pytest.raises(StorageError, match="append-only"):
        run(db.run("UPDATE audit_log SET action = 'x'"))
    with pytest.raises(StorageError, match="append-only"):
        run(db.run("DELETE FROM audit_log"))
