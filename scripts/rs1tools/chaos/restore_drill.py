"""Restore drill: the daily D1 backup restored into a fresh D1 while the fleet runs, then the
Workers switched over to it. What is lost is measured against the spec's RPO (< 24 h) and RTO
(< 1 h): D1 writes after the backup's moment are gone, by design of a daily logical backup
(telemetry rows are not in it at all: the hourly R2 archives hold them)."""

import asyncio
import shutil
import time
from datetime import UTC, datetime

from rs1tools import restore
from rs1tools.chaos.harness import ChaosWorld, ScenarioResult, check_ledger, say

DAILY = "15 3 * * *"
RPO_TARGET_S = 24 * 3600
RTO_TARGET_S = 3600


def _lost(live: dict[str, dict], restored: dict[str, dict]) -> dict[str, str]:
    """Per table the backup holds: what the restore took back (rows, or changed contents:
    presence and last_seen are updated in place)."""
    lost = {}
    for table, now in live.items():
        then = restored.get(table, {"rows": 0, "sha256": ""})
        if now != then:
            lost[table] = (
                f"{now['rows'] - then['rows']:+d} rows"
                if now["rows"] != then["rows"]
                else "changed"
            )
    return lost


async def restore_drill(world: ChaosWorld) -> ScenarioResult:
    result = ScenarioResult("restore-drill", world.devices)
    fleet = await world.start_fleet()
    await asyncio.sleep(2 * world.fleet_config().telemetry_interval_s)
    backup_at = datetime.now(UTC)
    status = await asyncio.to_thread(world.cron, DAILY)
    result.check("daily backup ran", status == 200, status)
    await asyncio.sleep(5)  # writes after the backup: lost by design (presence, security log)
    disaster = time.monotonic()
    live = await asyncio.to_thread(restore.checksums, world.state)
    say("restore-drill: restoring the latest backup into a fresh D1 while the fleet runs")
    target = world.state.parent / f"{world.state.name}-restored"
    shutil.rmtree(target, ignore_errors=True)
    code = await asyncio.to_thread(
        restore.main,
        [
            "--date",
            backup_at.strftime("%Y-%m-%d"),
            "--from-state",
            str(world.state),
            "--to-state",
            str(target),
        ],
    )
    result.check("restored D1 matches the backup manifest", code == 0, code)
    restored_s = time.monotonic() - disaster
    lost = _lost(live, await asyncio.to_thread(restore.checksums, target))
    online = len(fleet.connected_ids())
    switch_s = await asyncio.to_thread(world.switch_state, target)
    rto_s = time.monotonic() - disaster
    back = await fleet.wait_until(lambda f: len(f.connected_ids()) >= 0.99 * online, 120)
    rows_before_switch = world.telemetry_rows()
    await asyncio.sleep(3 * world.fleet_config().telemetry_interval_s)
    devices_after = len(await asyncio.to_thread(world.presence))
    rows_after = world.telemetry_rows()
    rpo_s = (datetime.now(UTC) - backup_at).total_seconds() - (time.monotonic() - disaster)
    result.figures.update(
        restore_s=round(restored_s, 1),
        switch_over_s=round(switch_s, 1),
        rto_s=round(rto_s, 1),
        rpo_window_s=round(rpo_s, 1),
        lost_since_backup=lost,
        telemetry_rows_since_switch=rows_after - rows_before_switch,
    )
    result.check("RTO under 1 h", rto_s < RTO_TARGET_S, rto_s)
    result.check("RPO under 24 h (daily backup)", rpo_s < RPO_TARGET_S, rpo_s)
    result.check("devices back after the switch-over", back, len(fleet.connected_ids()))
    result.check(
        "telemetry flows into the restored D1",
        rows_after > rows_before_switch,
        rows_after - rows_before_switch,
    )
    result.check(
        "every device enrolled before the backup survives",
        devices_after >= world.devices,
        devices_after,
    )
    result.ledger = await world.take_ledger()  # stored: the old D1's rows and the new one's
    check_ledger(result)
    return result
