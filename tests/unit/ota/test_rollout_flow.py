"""Rollout policy v2 through rs1.ota.rollouts (the cron's and webhooks' entry points) on
SQLite, with EMQX's publish API faked: scheduled starts, windows, rate ramps, health-gated
aborts, inconclusive stages, and rollback under the security version."""

import asyncio

import pytest

from helpers import NOW, FakeEmqx, enroll_one
from rs1.ota import firmware_store
from rs1.ota import rollout_store as rs
from rs1.ota import rollouts as ro
from rs1.ota.policy import Policy
from rs1.query.version_key import version_key

T0 = int(NOW * 1000)
MINUTE = 60_000


def run(coro):
    return asyncio.run(coro)


def release(services, version: str, security_version: int = 0, model: str = "RS-1") -> None:
    assert run(
        firmware_store.insert(
            services.db, model=model, version=version, size=4096, sha256="ab" * 32,
            signature="c2ln", min_version=None, security_version=security_version,
            object_key=f"firmware/RS-1/{version}/x.bin", created_at="2026-01-01T00:00:00.000Z",
        )
    )  # fmt: skip


def fleet(services, n: int, *, version: str = "1.0.0", offset: int | None = None) -> list[str]:
    ids = []
    for i in range(n):
        device_id = enroll_one(services.db, f"AA:BB:CC:01:{i // 256:02X}:{i % 256:02X}")
        run(services.db.run(
            "UPDATE devices SET online = 1, firmware_version = ?, utc_offset_min = ?, "
            "reboots = 0, telemetry_at = ? WHERE device_id = ?", version, offset, T0, device_id,
        ))  # fmt: skip
        ids.append(device_id)
    services.http = FakeEmqx()
    return ids


def start(services, version: str = "2.0.0", **policy) -> ro.Rollout:
    """A rollout with a fixed id: its cohorts (HMAC buckets of the id) are the same each run."""
    stages = policy.pop("stages", [{"percent": 100}])
    return run(
        ro.start_rollout(
            services, model="RS-1", version=version, stages=stages, threshold=0.02,
            timeout_minutes=60, allow_downgrade=False, device_ids=[],
            policy=Policy.model_validate(policy), rollout_id=f"r-{version}",
        )
    )  # fmt: skip


def counts(services, rollout_id: str) -> dict[str, int]:
    return run(rs.status_counts(services.db, rollout_id))


def install_all(services, rollout: ro.Rollout, ids: list[str], at: int) -> None:
    """Every device reports success and its `state` shows the new version."""
    for d in ids:
        run(services.db.run("UPDATE devices SET firmware_version = ?, version_key = ? "
                            "WHERE device_id = ?", rollout.version, version_key(rollout.version),
                            d))  # fmt: skip
        run(rs.record_report(services.db, d, rollout.rollout_id, "success", None, None, at))


def triggered(services) -> list[str]:
    """Devices sent an install trigger (not a cancel), in order."""
    installs = [m for m in services.http.published if '"install"' in m["payload"]]
    return [m["topic"].split("/")[1] for m in installs]


def test_nothing_is_triggered_before_start_at(services, clock) -> None:
    release(services, "2.0.0")
    ids = fleet(services, 3)
    rollout = start(services, start_at="2026-11-19T00:00:00Z")  # NOW is 2026-11-18
    assert counts(services, rollout.rollout_id) == {} and triggered(services) == []
    clock.now = NOW + 2 * 86_400
    assert run(ro.tick(services, int(clock.now * 1000))) == {rollout.rollout_id: "active"}
    assert sorted(triggered(services)) == sorted(ids)


def test_immediate_installs_wait_for_each_devices_window(services, clock) -> None:
    release(services, "2.0.0")
    midnight = T0 - T0 % 86_400_000
    clock.now = (midnight + 12 * 3_600_000) / 1000  # 12:00 UTC
    here = fleet(services, 2, offset=0)
    tokyo = [enroll_one(services.db, f"AA:BB:CC:02:00:{i:02X}") for i in range(2)]
    for d in tokyo:
        run(services.db.run("UPDATE devices SET online = 1, firmware_version = '1.0.0', "
                            "utc_offset_min = 540 WHERE device_id = ?", d))  # fmt: skip
    rollout = start(services, window={"start": "11:00", "end": "13:00"},
                    health={"soak_minutes": 0})  # fmt: skip
    assert sorted(triggered(services)) == sorted(here)  # Tokyo is at 21:00
    offer = services.http.published[0]["payload"]
    assert '"window"' in offer and '"install":"immediate"' in offer.replace(" ", "")
    install_all(services, rollout, here, int(clock.now * 1000) + MINUTE)
    run(ro.tick(services, midnight + 86_400_000 + 1 * 3_600_000))  # 10:00 in Tokyo
    assert sorted(triggered(services)) == sorted(here)
    run(ro.tick(services, midnight + 86_400_000 + 3 * 3_600_000))  # 12:00 in Tokyo
    assert sorted(triggered(services)) == sorted(here + tokyo)
    assert counts(services, rollout.rollout_id) == {"success": 2, "triggered": 2}


def test_the_rate_ramp_grows_with_successes(services, clock) -> None:
    release(services, "2.0.0")
    ids = fleet(services, 30)
    rate = {"max_per_minute": 8, "ramp": {"base_per_minute": 2, "after_successes": 2}}
    rollout = start(services, rate=rate, health={"soak_minutes": 0})
    per_minute = [len(triggered(services))]
    for minute in range(1, 5):
        done = [d for d in triggered(services)]
        install_all(services, rollout, done, T0 + minute * MINUTE - 1)
        before = len(triggered(services))
        run(ro.tick(services, T0 + minute * MINUTE + 1))
        per_minute.append(len(triggered(services)) - before)
    # 2 → 2 successes: 4 → 6: 8 (the cap) …; never more than the rate of its minute.
    assert per_minute[0] == 2 and per_minute[1] >= 2
    assert per_minute == sorted(per_minute) and max(per_minute) == 8
    assert len(set(triggered(services))) == len(triggered(services)) <= len(ids)


def test_a_soak_failure_aborts_and_rolls_back_to_the_same_security_version(services) -> None:
    release(services, "1.0.0", security_version=1)
    release(services, "2.0.0", security_version=1)
    ids = fleet(services, 20)
    rollout = start(services, rollback=True, health={"soak_minutes": 15})
    install_all(services, rollout, ids, T0)
    assert counts(services, rollout.rollout_id) == {"soaking": 20}
    # Three devices reboot-loop after the update.
    for d in ids[:3]:
        run(services.db.run("UPDATE devices SET reboots = 4 WHERE device_id = ?", d))
    run(ro.tick(services, T0 + MINUTE))
    shown = run(ro.load(services.db, rollout.rollout_id))
    assert shown is not None and shown.status == "aborted"
    assert counts(services, rollout.rollout_id)["soak_failed"] == 3
    row = run(rs.get_rollout(services.db, rollout.rollout_id))
    assert row is not None and row["rollback_version"] == "1.0.0"
    back = run(ro.load(services.db, row["rollback_rollout_id"]))
    assert back is not None and back.version == "1.0.0" and back.rollback_of == rollout.rollout_id
    assert back.cohort_query == "version = 2.0.0"  # every device on it, also one still installing
    offers = [m for m in services.http.published if '"1.0.0"' in m["payload"]]
    assert len(offers) == 20


def test_no_rollback_to_a_lower_security_version(services) -> None:
    release(services, "1.0.0", security_version=0)
    release(services, "2.0.0", security_version=1)  # fixes a vulnerability
    ids = fleet(services, 20)
    rollout = start(services, rollback=True, health={"soak_minutes": 15})
    install_all(services, rollout, ids, T0)
    for d in ids[:3]:
        run(services.db.run("UPDATE devices SET radar_error_at = ? WHERE device_id = ?",
                            T0 + 1, d))  # fmt: skip
    run(ro.tick(services, T0 + MINUTE))
    row = run(rs.get_rollout(services.db, rollout.rollout_id))
    assert row is not None and row["status"] == "aborted"
    assert row["rollback_version"] is None and row["rollback_rollout_id"] is None
    assert not [m for m in services.http.published if '"1.0.0"' in m["payload"]]


def test_a_device_on_a_higher_security_version_is_skipped_even_with_downgrades(services) -> None:
    release(services, "1.5.0", security_version=2)
    release(services, "1.4.0", security_version=1)
    (newer,) = fleet(services, 1, version="1.5.0")
    rollout = run(
        ro.start_rollout(
            services, model="RS-1", version="1.4.0", stages=[{"percent": 100}],
            threshold=0.02, timeout_minutes=60, allow_downgrade=True, device_ids=[],
        )
    )  # fmt: skip
    assert counts(services, rollout.rollout_id) == {"skipped": 1}
    reason = run(services.db.first("SELECT error_message FROM ota_device_status "
                                   "WHERE device_id = ?", newer))  # fmt: skip
    assert reason == {"error_message": "security_downgrade"}


@pytest.mark.parametrize(("policy", "grows"), [("extend", True), ("hold", False)])
def test_an_inconclusive_stage_extends_its_cohort(services, policy: str, grows: bool) -> None:
    release(services, "2.0.0")
    ids = fleet(services, 40)
    rollout = start(services, stages=[{"percent": 10}, {"percent": 100}],
                    on_inconclusive=policy, health={"soak_minutes": 0})  # fmt: skip
    first = list(triggered(services))
    install_all(services, rollout, first, T0)
    run(ro.tick(services, T0 + MINUTE))
    shown = run(ro.load(services.db, rollout.rollout_id))
    assert shown is not None and shown.current_stage == 0  # 4 devices prove nothing
    assert (shown.cohort_percent > 10) == grows
    assert (len(triggered(services)) > len(first)) == grows
    assert len(first) < len(ids)


def test_a_query_too_big_to_bind_is_refused_at_create_and_one_bad_rollout_spares_the_cron(
    services,
) -> None:
    from rs1.devices import cohort_store
    from rs1.query import QueryError, parse_query

    many = " or ".join(f"tag:k{i} in ({', '.join(map(str, range(16)))})" for i in range(4))
    with pytest.raises(QueryError):
        cohort_store.where(parse_query(many), T0)  # what the admin API checks before insert
    release(services, "2.0.0")
    release(services, "3.0.0", model="RS-9")
    fleet(services, 2)
    broken = start(services, health={"soak_minutes": 0})
    run(services.db.run("UPDATE ota_rollouts SET cohort_query = ? WHERE rollout_id = ?",
                        many, broken.rollout_id))  # fmt: skip
    later = Policy.model_validate({"start_at": "2030-01-01T00:00:00Z"})  # live, waiting
    other = run(ro.start_rollout(services, model="RS-9", version="3.0.0",
                                 stages=[{"percent": 100}], threshold=0.02, timeout_minutes=60,
                                 allow_downgrade=False, device_ids=[], policy=later))  # fmt: skip
    result = run(ro.tick(services, T0 + MINUTE))
    assert result == {broken.rollout_id: "error", other.rollout_id: "active"}


def test_an_extension_restarts_the_stage_clock(services) -> None:
    release(services, "2.0.0")
    fleet(services, 40)
    rollout = start(services, stages=[{"percent": 10, "soak_minutes": 5}, {"percent": 100}],
                    health={"soak_minutes": 0})  # fmt: skip
    install_all(services, rollout, list(triggered(services)), T0)
    run(ro.tick(services, T0 + 6 * MINUTE))
    shown = run(ro.load(services.db, rollout.rollout_id))
    assert shown is not None and shown.cohort_percent == 20
    assert shown.stage_started_at == T0 + 6 * MINUTE  # persisted, not only in memory
