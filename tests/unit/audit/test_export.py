"""The daily export: every day from the first record, each seq once, idempotent, verifiable;
an edited row is found."""

import asyncio
import json
import random
from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from helpers import Clock, Interleaved, fresh_db, gather, unit_services
from rs1.audit import store
from rs1.audit.chain import verify
from rs1.audit.export import object_key, run_audit_export
from rs1.audit.trail import Actor, AuditTrail
from rs1.identity import api_key_store
from rs1.identity.api_keys import new_key
from rs1.storage.memory import MemoryBlobs

DAY_MS = 86_400_000
T0 = 1_795_000_000_000 - 1_795_000_000_000 % DAY_MS  # a UTC midnight


def run(coro):
    return asyncio.run(coro)


def write(db, at_ms: int, action: str) -> None:
    run(AuditTrail(action, Actor("admin", "ops"), "r", "", at_ms).commit(db))


def files(svc) -> list[tuple[str, str]]:
    out = []
    for row in run(store.exports(svc.db)):
        data = run(svc.blobs["BACKUPS"].get_bytes(object_key(row["day"])))
        out.append((row["day"], data.decode()))
    return out


def services():
    db = fresh_db()
    svc = unit_services(db, Clock(T0 / 1000))
    svc.blobs["BACKUPS"] = MemoryBlobs()
    return svc


def test_days_are_exported_once_each_and_verify() -> None:
    svc = services()
    for day, n in ((0, 3), (2, 1)):  # day 1 has no records: it still gets a file
        for i in range(n):
            write(svc.db, T0 + day * DAY_MS + i * 1000, f"a{day}.{i}")
    write(svc.db, T0 + 3 * DAY_MS + 5, "today")
    assert run(run_audit_export(svc, T0 + 3 * DAY_MS + 10)) == [
        "2026-11-18", "2026-11-19", "2026-11-20",
    ]  # fmt: skip
    assert run(run_audit_export(svc, T0 + 3 * DAY_MS + 10)) == []  # idempotent
    exported = files(svc)
    verdict = verify(exported)
    assert verdict.ok and verdict.records == 4
    assert [json.loads(t.split("\n")[0])["count"] for _, t in exported] == [3, 0, 1]
    heads = run(store.exports(svc.db))
    assert verdict.last_hash == heads[-1]["last_hash"]
    # the next day continues the chain, with today's record
    assert run(run_audit_export(svc, T0 + 4 * DAY_MS)) == ["2026-11-21"]
    assert verify(files(svc)).ok


def test_an_edited_row_is_found() -> None:
    svc = services()
    for i in range(3):
        write(svc.db, T0 + i * 1000, f"zones.write.{i}")
    run(run_audit_export(svc, T0 + DAY_MS))
    ((day, text),) = files(svc)
    lines = text.split("\n")[:-1]
    row = json.loads(lines[2])
    row["actor"]["id"] = "someone-else"
    lines[2] = json.dumps(row)
    verdict = verify([(day, "\n".join(lines) + "\n")])
    assert not verdict.ok
    assert verdict.problems == [f"{day}: record seq {row['seq']} was edited (hash mismatch)"]


@settings(max_examples=25)
@given(st.integers(0, 2**32))
def test_overlapping_export_runs_record_each_day_once_and_still_verify(seed) -> None:
    """Two crons (a retried one) export the same days at once: the day's row is the
    constraint (INSERT OR IGNORE on its key), and both wrote the same file."""
    svc = services()
    for day in range(3):
        write(svc.db, T0 + day * DAY_MS, f"a{day}")
    interleaved = replace(svc, db=Interleaved(svc.db, random.Random(seed)))
    now = T0 + 3 * DAY_MS
    results = gather(run_audit_export(interleaved, now), run_audit_export(interleaved, now))
    assert not [r for r in results if isinstance(r, BaseException)]
    assert [r["day"] for r in run(store.exports(svc.db))] == [
        "2026-11-18",
        "2026-11-19",
        "2026-11-20",
    ]
    assert verify(files(svc)).ok


def test_revoking_a_key_twice_at_once_keeps_the_first_time() -> None:
    db = fresh_db()
    made = new_key()
    run(api_key_store.insert(db, made.key_id, "k", made.secret_hash, ["audit:read"], "admin",
                             "s", "ops", "2026-01-01T00:00:00.000Z", None))  # fmt: skip
    interleaved = Interleaved(db, random.Random(7))
    first, second = gather(
        api_key_store.revoke(interleaved, made.key_id, "2026-01-02T00:00:00.000Z"),
        api_key_store.revoke(interleaved, made.key_id, "2026-01-03T00:00:00.000Z"),
    )
    assert sorted([first, second]) == [False, True]
    row = run(api_key_store.get(db, made.key_id))
    assert row is not None and row["revoked_at"] in (
        "2026-01-02T00:00:00.000Z",
        "2026-01-03T00:00:00.000Z",
    )
