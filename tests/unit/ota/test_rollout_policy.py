"""Rollout policy v2 (issue 17) on SQLite with the real migrations: the rate limit and the
maintenance window are decided inside the statement that marks a device triggered (racing
passes cannot exceed them), soaks fail on reboots, telemetry silence and radar errors, and a
rollback never offers a security-version downgrade."""

import asyncio
import math
import random
from collections import Counter

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from rs1contract.ota import InstallWindow

from helpers import NOW, Interleaved, enroll_one, fresh_db
from rs1.ota import rollout_store as rs
from rs1.ota.policy import Policy, Ramp, Rate, local_minute
from rs1.ota.rollouts import rollback_version

T0 = int(NOW * 1000)
SHA = "ab" * 32


def run(coro):
    return asyncio.run(coro)


def rollout(db, *, soak_ms: int = 0, rollout_id: str = "r-1") -> None:
    assert run(
        rs.insert_rollout(
            db, rollout_id=rollout_id, model="RS-1", version="2.0.0",
            url="https://ota.example/f.bin", sha256=SHA, size=4096, signature="c2ln",
            stages=[{"percent": 100}], target_percent=100, threshold=0.02,
            timeout_minutes=60, allow_downgrade=False, device_ids=[], now_ms=T0,
            soak_ms=soak_ms,
        )
    )  # fmt: skip


def pending_devices(db, n: int, *, offset: int | None = None, start: int = 0) -> list[str]:
    ids = []
    for i in range(start, start + n):
        device_id = enroll_one(db, f"AA:BB:CC:00:{i // 256:02X}:{i % 256:02X}")
        run(db.run("UPDATE devices SET online = 1, firmware_version = '1.0.0', "
                   "utc_offset_min = ? WHERE device_id = ?", offset, device_id))  # fmt: skip
        put = rs.upsert_status("r-1", 0, device_id, "pending", "1.0.0", T0)
        run(rs.write_statuses(db, [put]))
        ids.append(device_id)
    return ids


def status(db, device_id: str) -> dict:
    row = run(db.first("SELECT * FROM ota_device_status WHERE device_id = ?", device_id))
    assert row is not None
    return row


# --- the rate limit ----------------------------------------------------------------------


def test_the_rate_limit_counts_the_last_minute_of_triggers() -> None:
    db = fresh_db()
    rollout(db)
    pending_devices(db, 10)
    gates = rs.Gates(per_minute=3)
    assert len(run(rs.promote_pending(db, "r-1", "2.0.0", 250, gates, T0))) == 3
    assert run(rs.promote_pending(db, "r-1", "2.0.0", 250, gates, T0 + 30_000)) == []
    assert len(run(rs.promote_pending(db, "r-1", "2.0.0", 250, gates, T0 + 60_001))) == 3


@pytest.mark.parametrize("seed", range(5))
def test_racing_passes_and_webhooks_never_exceed_the_rate(seed: int) -> None:
    """The cron, an admin's resume and devices announcing themselves trigger at once: the
    budget is read inside each statement, so together they stay within it."""
    db = fresh_db()
    rollout(db)
    ids = pending_devices(db, 12)
    racy = Interleaved(db, random.Random(seed))
    gates = rs.Gates(per_minute=5)
    passes = [rs.promote_pending(racy, "r-1", "2.0.0", 250, gates, T0) for _ in range(4)]
    claims = [rs.claim_send(racy, "r-1", d, 3, T0, T0, gates) for d in ids[:6]]

    async def race() -> list:
        return await asyncio.gather(*passes, *claims)

    run(race())
    triggered = run(db.all("SELECT device_id FROM ota_device_status WHERE status = 'triggered'"))
    assert len(triggered) == 5


@given(
    successes=st.integers(0, 10_000),
    base=st.integers(1, 50),
    factor=st.floats(1.1, 10),
    after=st.integers(1, 50),
    cap=st.integers(50, 10_000),
)
def test_the_ramp_grows_by_its_factor_and_never_passes_the_cap(
    successes: int, base: int, factor: float, after: int, cap: int
) -> None:
    rate = Rate(max_per_minute=cap, ramp=Ramp(base_per_minute=base, factor=factor,
                                              after_successes=after))  # fmt: skip
    now = rate.per_minute(successes)
    assert base <= now <= cap
    assert rate.per_minute(successes + after) >= now  # never shrinks as successes grow
    log_exact = math.log(base) + (successes // after) * math.log(factor)
    if log_exact >= math.log(cap):
        assert now == cap
    else:
        assert abs(now - math.exp(log_exact)) <= 1


def test_a_failure_restarts_the_ramp() -> None:
    db = fresh_db()
    rollout(db)
    ids = pending_devices(db, 5)
    for i, d in enumerate(ids[:3]):
        run(rs.record_report(db, d, "r-1", "success", None, None, T0 + i))
    assert run(rs.ramp_successes(db, "r-1")) == 3
    run(db.run("UPDATE ota_device_status SET updated_at = '2099-01-01T00:00:00.000Z', "
               "status = 'failed' WHERE device_id = ?", ids[3]))  # fmt: skip
    assert run(rs.ramp_successes(db, "r-1")) == 0


# --- the maintenance window ------------------------------------------------------------


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    now_min=st.integers(0, 10 * 1440),
    offset=st.integers(-720, 840),
    start=st.integers(0, 1439),
    end=st.integers(0, 1439),
)
def test_the_window_in_sql_is_the_window_the_device_keeps(
    now_min: int, offset: int, start: int, end: int
) -> None:
    db = fresh_db()
    rollout(db)
    (me,) = pending_devices(db, 1, offset=offset)
    now_ms = T0 - T0 % 60_000 + now_min * 60_000
    window = InstallWindow(start=f"{start // 60:02d}:{start % 60:02d}",
                           end=f"{end // 60:02d}:{end % 60:02d}")  # fmt: skip
    gates = rs.Gates(window=window.minutes())
    promoted = run(rs.promote_pending(db, "r-1", "2.0.0", 10, gates, now_ms))
    assert (promoted == [me]) == window.contains(local_minute(now_ms, offset))


def test_an_owner_set_offset_wins_over_the_reported_one() -> None:
    db = fresh_db()
    rollout(db)
    (me,) = pending_devices(db, 1, offset=0)
    now_ms = T0 - T0 % 86_400_000 + 12 * 3_600_000  # 12:00 UTC
    gates = rs.Gates(window=(0, 60))  # 00:00-01:00 local
    assert run(rs.promote_pending(db, "r-1", "2.0.0", 10, gates, now_ms)) == []
    run(db.run("UPDATE devices SET owner_utc_offset_min = 720 WHERE device_id = ?", me))
    assert run(rs.promote_pending(db, "r-1", "2.0.0", 10, gates, now_ms)) == [me]


def test_install_window_needs_a_window_and_start_at_a_zone() -> None:
    with pytest.raises(ValidationError):
        Policy.model_validate({"install": "window"})
    with pytest.raises(ValidationError):
        Policy.model_validate({"start_at": "2026-12-01T02:00:00"})
    with pytest.raises(ValidationError):
        Policy.model_validate({"rate": {"max_per_minute": 5, "ramp": {"base_per_minute": 9}}})
    assert Policy.model_validate({"start_at": "2026-12-01T02:00:00Z"}).start_at_ms


# --- the soak ----------------------------------------------------------------------------

SOAK = 15 * 60_000


def soaking(db, n: int = 1) -> list[str]:
    rollout(db, soak_ms=SOAK)
    ids = pending_devices(db, n)
    for d in ids:
        run(db.run("UPDATE devices SET reboots = 4, telemetry_at = ? WHERE device_id = ?",
                   T0, d))  # fmt: skip
        assert run(rs.record_report(db, d, "r-1", "success", None, None, T0))
    return ids


def fail(db, at: int) -> list[dict]:
    return run(rs.fail_soaks(db, "r-1", at, max_reboots=1, silence_ms=5 * 60_000,
                             radar_errors=True))  # fmt: skip


def test_an_install_soaks_and_passes_when_healthy() -> None:
    db = fresh_db()
    (me,) = soaking(db)
    row = status(db, me)
    assert (row["soak"], row["soak_started_at"], row["soak_reboots"]) == ("soaking", T0, 4)
    assert run(rs.status_counts(db, "r-1")) == {"soaking": 1}
    run(db.run("UPDATE devices SET reboots = 5, telemetry_at = ? WHERE device_id = ?",
               T0 + SOAK, me))  # fmt: skip
    assert fail(db, T0 + SOAK) == []  # one reboot is the install's own
    assert run(rs.pass_soaks(db, "r-1", SOAK, T0 + SOAK)) == 1
    assert run(rs.status_counts(db, "r-1")) == {"success": 1}


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ("reboots = 6", "reboot_loop"),
        (f"radar_error_at = {T0 + 1_000}", "radar_error"),
        (f"telemetry_at = {T0 - 1}", "telemetry_silent"),
    ],
)
def test_a_soak_fails_on_reboots_radar_errors_and_silence(change: str, reason: str) -> None:
    db = fresh_db()
    (me,) = soaking(db)
    run(db.run(f"UPDATE devices SET {change} WHERE device_id = ?", me))
    at = T0 + 6 * 60_000 if reason == "telemetry_silent" else T0 + 60_000
    if reason != "telemetry_silent":  # still talking
        run(db.run("UPDATE devices SET telemetry_at = ? WHERE device_id = ?", at, me))
    assert fail(db, at) == [{"device_id": me, "soak_error": reason}]
    assert run(rs.status_counts(db, "r-1")) == {"soak_failed": 1}
    assert run(rs.pass_soaks(db, "r-1", SOAK, T0 + 2 * SOAK)) == 0  # failed stays failed


def test_a_one_off_radar_fault_among_good_reports_is_noise() -> None:
    db = fresh_db()
    (me,) = soaking(db)
    at = T0 + 90_000
    run(db.run("UPDATE devices SET radar_error_at = ?, radar_ok_at = ?, telemetry_at = ? "
               "WHERE device_id = ?", T0 + 40_000, T0 + 45_000, at, me))  # fmt: skip
    assert fail(db, at) == []
    run(db.run("UPDATE devices SET radar_error_at = ? WHERE device_id = ?", at, me))
    assert fail(db, at + 20_000) == [{"device_id": me, "soak_error": "radar_error"}]


def test_a_rollout_without_a_soak_counts_success_at_once() -> None:
    db = fresh_db()
    rollout(db)
    (me,) = pending_devices(db, 1)
    assert run(rs.record_report(db, me, "r-1", "success", None, None, T0))
    assert status(db, me)["soak"] is None
    assert run(rs.status_counts(db, "r-1")) == {"success": 1}


def test_a_downloaded_device_waits_for_its_window_before_it_times_out() -> None:
    db = fresh_db()
    rollout(db)
    waiting, silent = pending_devices(db, 2)
    for d in (waiting, silent):
        run(db.run("UPDATE ota_device_status SET status = 'triggered', triggered_at = ? "
                   "WHERE device_id = ?", T0, d))  # fmt: skip
    assert run(rs.record_report(db, waiting, "r-1", "downloaded", None, None, T0))
    day = 24 * 3_600_000
    assert run(rs.time_out(db, "r-1", T0 + 1, T0 + 2 * 60_000, day)) == 1
    assert status(db, silent)["status"] == "timed_out"
    assert status(db, waiting)["status"] == "downloaded"
    assert run(rs.time_out(db, "r-1", T0 + day - 1, T0 + day, day)) == 0
    assert run(rs.time_out(db, "r-1", T0 + day + 1, T0 + day + 2, day)) == 1


# --- rollback and the security version ---------------------------------------------------


VERSIONS = st.sampled_from(["1.0.0", "1.1.0", "1.2.0", "0.9.0"])


@given(
    before=st.dictionaries(VERSIONS, st.integers(1, 50), min_size=1),
    security=st.dictionaries(VERSIONS, st.integers(0, 3)),
    aborted=st.integers(0, 3),
)
def test_a_rollback_never_offers_another_security_version(
    before: dict[str, int], security: dict[str, int], aborted: int
) -> None:
    chosen = rollback_version(Counter(before), security, aborted)
    same = [v for v in before if security.get(v) == aborted]
    if chosen is None:
        assert not same
    else:
        assert security[chosen] == aborted
        assert before[chosen] == max(before[v] for v in same)
