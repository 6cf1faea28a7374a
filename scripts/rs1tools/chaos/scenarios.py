"""The seven chaos scenarios. Each runs in its own fresh world, prints its figures and checks
its invariants; a scenario with telemetry also balances the message ledger."""

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from rs1tools.chaos.harness import ChaosWorld, ScenarioResult, check_ledger, say
from rs1tools.chaos.restore_drill import restore_drill
from rs1tools.demo import NEW_VERSION
from rs1tools.faults import FaultRule
from rs1tools.fleet import Fleet

Scenario = Callable[[ChaosWorld], Awaitable[ScenarioResult]]
FAULT_WINDOW_S = 30.0


def period(world: ChaosWorld) -> float:
    return world.fleet_config().telemetry_interval_s


async def wait_back(fleet: Fleet, share: float, count: int, within_s: float) -> float | None:
    """Seconds until `share` of `count` devices are connected again (None: not in time)."""
    started = time.monotonic()
    need = max(1, int(share * count + 0.999))
    ok = await fleet.wait_until(lambda f: len(f.connected_ids()) >= need, within_s)
    return round(time.monotonic() - started, 1) if ok else None


async def peak_connect_rate(fleet: Fleet, stop: asyncio.Event) -> float:
    """The highest CONNECTs per second (each is one authn webhook call), over 1 s windows."""
    peak, last = 0, fleet.stats.connect_attempts
    while not stop.is_set():
        await asyncio.sleep(1.0)
        now = fleet.stats.connect_attempts
        peak, last = max(peak, now - last), now
    return float(peak)


async def presence_mismatch(world: ChaosWorld, fleet: Fleet, within_s: float) -> list[str]:
    """Devices whose stored presence differs from the truth, once presence has settled."""
    deadline = time.monotonic() + within_s
    while True:
        truth = fleet.connected_ids()
        shown = await asyncio.to_thread(world.presence)
        wrong = [
            d.device_id for d in fleet.devices if shown.get(d.device_id) != (d.device_id in truth)
        ]
        if not wrong or time.monotonic() > deadline:
            return wrong
        await asyncio.sleep(2.0)


def check_rollout(
    world: ChaosWorld, result: ScenarioResult, rollout_id: str, r: dict[str, Any]
) -> None:
    """Completed, nobody failed for a cloud fault, nobody counted twice, and what D1 says each
    device runs is what the device runs."""
    fleet = world.fleet
    assert fleet is not None
    rows = world.device_rows(rollout_id)
    statuses = {row["device_id"]: row["status"] for row in rows}
    counts = r["counts"]
    bad = {s: counts.get(s, 0) for s in ("failed", "timed_out") if counts.get(s, 0)}
    runs_new = {d.device_id for d in fleet.devices if d.firmware_version == NEW_VERSION}
    said_success = {d for d, s in statuses.items() if s == "success"}
    result.figures["rollout"] = {"status": r["status"], "counts": counts}
    result.check("rollout completed", r["status"] == "completed", r["status"])
    result.check("no device failed or timed out for a cloud fault", not bad, bad)
    result.check(
        "no device counted twice",
        sum(counts.values()) == len(rows) == len(statuses),
        f"counts {sum(counts.values())}, rows {len(rows)}",
    )
    result.check(
        "success exactly where the device runs the new version",
        said_success == runs_new,
        f"success-not-running {sorted(said_success - runs_new)[:3]},"
        f" running-not-success {sorted(runs_new - said_success)[:3]}",
    )
    result.check(
        "no device stranded",
        len(runs_new) == len(fleet.devices),
        f"{len(fleet.devices) - len(runs_new)} not on {NEW_VERSION}",
    )


async def rollout_checked(
    world: ChaosWorld, result: ScenarioResult, rollout_id: str, r: dict[str, Any]
) -> ScenarioResult:
    """The rollout's invariants, then the ledger of the whole run."""
    check_rollout(world, result, rollout_id, r)
    result.ledger = await world.take_ledger()
    check_ledger(result)
    return result


def struck(world: ChaosWorld, result: ScenarioResult) -> None:
    """Record how many faults were injected, and check there were some: a scenario whose
    fault never struck proves nothing."""
    counts = {
        f"{r['target']} {r.get('error') or ''}".strip(): int(r.get("injected", 0))
        for r in world.faults.state()
    }
    result.figures["faults_injected"] = counts
    result.check("the fault struck", sum(counts.values()) > 0, counts)


# -- 1. broker restart ----------------------------------------------------------------------


async def broker_restart(world: ChaosWorld) -> ScenarioResult:
    result = ScenarioResult("broker-restart", world.devices)
    fleet = await world.start_fleet()
    await asyncio.sleep(2 * period(world))
    stop = asyncio.Event()
    sampler = asyncio.create_task(peak_connect_rate(fleet, stop))
    online = len(fleet.connected_ids())
    down_s = await asyncio.to_thread(world.system.restart_broker)
    back_99 = await wait_back(fleet, 0.99, online, 300)
    back_all = await wait_back(fleet, 1.0, online, 120)
    stop.set()
    wrong = await presence_mismatch(world, fleet, 60)
    result.figures.update(
        broker_down_s=round(down_s, 1),
        back_99_s=back_99,
        back_all_s=back_all,
        peak_auth_per_s=await sampler,
        devices_online_before=online,
        presence_wrong=len(wrong),
    )
    result.check("99% back", back_99 is not None, back_99)
    result.check("presence right afterwards", not wrong, wrong[:5])
    result.ledger = await world.take_ledger()
    check_ledger(result)
    return result


# -- 2. D1 errors during telemetry and a rollout ---------------------------------------------


async def d1_errors(world: ChaosWorld) -> ScenarioResult:
    result = ScenarioResult("d1-errors", world.devices)
    world.upload()
    await world.start_fleet(ota=True)
    await asyncio.sleep(period(world))
    world.inject(FaultRule(target="d1", rate=0.05, duration_s=FAULT_WINDOW_S, seed=15))
    started = time.monotonic()
    rollout_id = await asyncio.to_thread(world.start_rollout, (20, 100))
    r = await world.drive_rollout(rollout_id, 600)
    await asyncio.sleep(max(0.0, FAULT_WINDOW_S - (time.monotonic() - started)))
    struck(world, result)
    result.figures["rollout_s"] = round(time.monotonic() - started, 1)
    return await rollout_checked(world, result, rollout_id, r)


# -- 3. R2 unavailable during downloads ----------------------------------------------------


async def r2_outage(world: ChaosWorld) -> ScenarioResult:
    result = ScenarioResult("r2-outage", world.devices)
    world.upload()
    await world.start_fleet(ota=True)
    # R2 goes away as the triggers go out: every download meets the outage and waits it out.
    world.inject(FaultRule(target="r2", rate=1.0, duration_s=FAULT_WINDOW_S, seed=3))
    outage_at = time.monotonic()
    rollout_id = await asyncio.to_thread(world.start_rollout, (100,))
    r = await world.drive_rollout(rollout_id, 900)
    struck(world, result)
    result.figures.update(
        outage_s=FAULT_WINDOW_S,
        completed_after_outage_s=round(time.monotonic() - outage_at - FAULT_WINDOW_S, 1),
    )
    return await rollout_checked(world, result, rollout_id, r)


# -- 4. EMQX API unreachable while triggers are sent ------------------------------------------


async def emqx_api_down(world: ChaosWorld) -> ScenarioResult:
    result = ScenarioResult("emqx-api-unreachable", world.devices)
    world.upload()
    await world.start_fleet(ota=True)
    world.inject(FaultRule(target="emqx_api", rate=1.0, seed=4))
    rollout_id = await asyncio.to_thread(world.start_rollout, (100,))
    for _ in range(3):  # the cron retries while the API is away: still nothing may move
        await asyncio.to_thread(world.cron)
        await asyncio.sleep(2)
    during = world.rollout(rollout_id)["counts"]
    result.check(
        "devices stay pending while the API is unreachable",
        during.get("pending", 0) == world.devices and len(during) == 1,
        during,
    )
    struck(world, result)
    world.faults.clear()
    back_at = time.monotonic()
    r = await world.drive_rollout(rollout_id, 900)
    result.figures.update(
        counts_while_down=during, completed_after_return_s=round(time.monotonic() - back_at, 1)
    )
    return await rollout_checked(world, result, rollout_id, r)


# -- 5. auth/ACL webhook transient failures during a rollout ---------------------------------

AUTH_PATHS = ["/webhook/mqtt-auth", "/webhook/mqtt-acl"]


async def auth_flaky(world: ChaosWorld, rate: float = 0.005) -> ScenarioResult:
    result = ScenarioResult("auth-acl-flaky", world.devices)
    world.upload()
    await world.start_fleet(ota=True)
    world.inject(
        FaultRule(target="route", paths=AUTH_PATHS, rate=rate / 2, error="reset", seed=51),
        FaultRule(target="route", paths=AUTH_PATHS, rate=rate / 2, error="503", seed=52),
    )
    rollout_id = await asyncio.to_thread(world.start_rollout, (100,))
    r = await world.drive_rollout(rollout_id, 900)
    node = world.metrics.node()
    struck(world, result)
    result.figures.update(
        rate=rate,
        authz_nomatch=node.get("authorization.nomatch"),
        authz_cache_hits=node.get("authorization.cache_hit"),
        refused_connects=world.fleet.stats.refused.total() if world.fleet else None,
    )
    return await rollout_checked(world, result, rollout_id, r)


# -- 6. the Workers host killed and restarted mid-stream -------------------------------------


async def host_restart(world: ChaosWorld) -> ScenarioResult:
    result = ScenarioResult("host-restart", world.devices)
    await world.start_fleet()
    await asyncio.sleep(2 * period(world))
    down_s = await asyncio.to_thread(world.system.restart_host, True)
    await asyncio.sleep(2 * period(world))
    result.figures.update(host_down_s=round(down_s, 1))
    led = result.ledger = await world.take_ledger()
    result.figures.update(retried=led.retried, replies=led.replies)
    check_ledger(result)
    return result


SCENARIOS: dict[str, Scenario] = {
    "broker-restart": broker_restart,
    "d1-errors": d1_errors,
    "r2-outage": r2_outage,
    "emqx-api-unreachable": emqx_api_down,
    "auth-acl-flaky": auth_flaky,
    "host-restart": host_restart,
    "restore-drill": restore_drill,
}


def describe(result: ScenarioResult) -> None:
    say(f"{result.name} ({result.devices} devices): {'OK' if result.ok else 'FAILED'}")
    for key, value in result.figures.items():
        print(f"  {key:<28} {value}")
    if result.ledger is not None:
        for line in result.ledger.lines():
            print(f"  {line}")
    for check in result.checks:
        mark = "ok " if check.ok else "BAD"
        print(f"  [{mark}] {check.name}" + ("" if check.ok else f": {check.detail}"))
