"""Rollout policy v2 end to end with the simulated fleet (issue 17): a rate ramp seen in the
trigger timestamps, a maintenance window the devices keep (download now, install later), and
a health-gated abort of a firmware that installs fine and then reboot-loops or goes quiet,
rolled back to the previous version."""

import asyncio
import re
import time
from collections.abc import Callable

import httpx
import pytest
from rs1fw.ota_settings import OtaSettings

from helpers import FIRMWARE_KEYS, random_mac, upload_firmware
from rs1.ota.safety import wilson
from rs1tools.fleet import Fleet, FleetConfig
from rs1tools.fleet_ota import FirmwareOta
from rs1tools.rs1ctl import write_secrets

KEYS = FIRMWARE_KEYS
EVERY_MINUTE = "* * * * *"
FAST = OtaSettings(install_s=0.2, self_test_s=0.1, power_loss_dark_s=0.5)


@pytest.fixture(autouse=True)
def _needs(broker, firmware_keys) -> None:
    global KEYS
    KEYS = firmware_keys


def upload(admin: httpx.Client, model: str, version: str) -> None:
    upload_firmware(admin, KEYS, model, version)


def enrol(admin: httpx.Client, model: str, n: int, path) -> None:
    body = {"devices": [{"mac_address": random_mac(), "model": model} for _ in range(n)]}
    response = admin.post("/admin/devices:batch", json=body)
    assert response.status_code == 200, response.text
    write_secrets(path, response.json()["enrolled"])


def fleet_config(system, secrets, n: int, **extra) -> FleetConfig:
    return FleetConfig(
        devices=n, duration_s=None, mqtt_port=system.mqtt_port, api=system.urls["device_api"],
        secrets=secrets, telemetry_interval_s=2.0, ramp_s=2.0, seed=17, **extra,
    )  # fmt: skip


async def poll(admin, telemetry, rid: str, done: Callable[[dict], bool], within_s: float) -> dict:
    """The rollout until `done`, firing the minute cron (timeouts, soaks, stages) meanwhile."""
    deadline = time.monotonic() + within_s
    while True:
        await asyncio.to_thread(telemetry.get, "/cdn-cgi/local/scheduled",
                                params={"cron": EVERY_MINUTE})  # fmt: skip
        shown = (await asyncio.to_thread(admin.get, f"/admin/rollouts/{rid}")).json()
        if done(shown) or time.monotonic() > deadline:
            return shown
        await asyncio.sleep(1.0)


def trigger_times(admin: httpx.Client, rid: str) -> list[int]:
    rows = admin.get(f"/admin/rollouts/{rid}/devices", params={"limit": 500}).json()["devices"]
    return sorted(r["triggered_at"] for r in rows if r["triggered_at"])


def test_a_rate_ramp_shows_in_the_trigger_timestamps(system, admin, telemetry, tmp_path) -> None:
    model, n = "RS-1-RAMP", 24
    upload(admin, model, "2.0.0")
    enrol(admin, model, n, tmp_path / "secrets.csv")
    ota = FirmwareOta(KEYS.public_b64, system.urls["ota"], settings=FAST)
    rate = {"max_per_minute": 16, "ramp": {"base_per_minute": 2, "factor": 2,
                                            "after_successes": 2}}  # fmt: skip
    body = {"firmware_version": "2.0.0", "model": model, "timeout_minutes": 5,
            "policy": {"rate": rate, "health": {"soak_minutes": 0}}}  # fmt: skip

    async def scenario() -> dict:
        config = fleet_config(system, tmp_path / "secrets.csv", n)
        async with Fleet(config, ota=ota) as fleet:
            assert await fleet.wait_until(lambda f: len(f.connected_ids()) == n, 60)
            created = await asyncio.to_thread(admin.post, "/admin/rollouts", json=body)
            assert created.status_code == 201, created.text
            assert created.json()["rate"]["per_minute_now"] == 2
            rid = created.json()["rollout_id"]
            shown = await poll(admin, telemetry, rid, lambda r: r["status"] != "active", 200)
        await ota.close()
        return shown

    shown = asyncio.run(scenario())
    assert shown["status"] == "completed", shown
    assert shown["rate"]["per_minute_now"] == 16
    times = trigger_times(admin, shown["rollout_id"])
    assert len(times) == n
    first = [t for t in times if t - times[0] < 1_000]
    assert len(first) == 2  # the base rate: two at once, then the ramp
    in_any_minute = max(sum(1 for u in times if t <= u < t + 60_000) for t in times)
    assert 8 < in_any_minute <= 16  # it grew past the base and never passed the cap
    in_first_minute = sum(1 for t in times if t < times[0] + 60_000)
    assert in_first_minute > 4  # doubled at least twice within the first minute
    assert times[-1] - times[0] >= 60_000  # the cap held the rest back to the next minute


def test_devices_download_at_once_and_install_in_their_window(
    system, admin, telemetry, tmp_path
) -> None:
    """install=window: every device downloads and reports `downloaded`; those whose local
    time reaches the window install then, the others (12 hours ahead) keep waiting."""
    model, n = "RS-1-WIN", 8
    upload(admin, model, "2.0.0")
    enrol(admin, model, n, tmp_path / "secrets.csv")
    ota = FirmwareOta(KEYS.public_b64, system.urls["ota"], settings=FAST)
    now = time.time()
    opens = int(now // 60 + 1) * 60 + (60 if (-now) % 60 < 25 else 0)  # a minute boundary
    start = time.strftime("%H:%M", time.gmtime(opens))
    end = time.strftime("%H:%M", time.gmtime(opens + 180))
    body = {"firmware_version": "2.0.0", "model": model, "timeout_minutes": 5,
            "policy": {"install": "window", "window": {"start": start, "end": end},
                       "jitter_s": 3, "health": {"soak_minutes": 0}}}  # fmt: skip

    async def scenario() -> tuple[dict, dict[str, int]]:
        config = fleet_config(system, tmp_path / "secrets.csv", n, utc_offsets_min=(0, 720))
        async with Fleet(config, ota=ota) as fleet:
            offsets = {d.device_id: d.utc_offset_min for d in fleet.devices}
            assert await fleet.wait_until(lambda f: len(f.connected_ids()) == n, 60)
            created = await asyncio.to_thread(admin.post, "/admin/rollouts", json=body)
            assert created.status_code == 201, created.text
            rid = created.json()["rollout_id"]
            here = sum(1 for o in offsets.values() if o == 0)

            def settled(r: dict) -> bool:
                counts = r["counts"]
                return counts.get("success", 0) == here and counts.get("downloaded") == n - here

            shown = await poll(admin, telemetry, rid, settled, opens - time.time() + 60)
            await asyncio.to_thread(admin.post, f"/admin/rollouts/{rid}/abort")
            await asyncio.sleep(1.0)  # the cancels reach the waiting devices
        await ota.close()
        return shown, offsets

    shown, offsets = asyncio.run(scenario())
    here = [d for d, o in offsets.items() if o == 0]
    assert 0 < len(here) < n, offsets  # both kinds of device (seeded)
    assert shown["counts"] == {"success": len(here), "downloaded": n - len(here)}, shown
    for device_id, offset in offsets.items():
        events = {status: at for at, status, _ in ota.events[device_id]}
        assert events["downloaded"] < opens  # downloaded at once, before the window
        assert 0 <= ota.clients[device_id].jitter_waits[shown["rollout_id"]] <= 3
        if offset == 0:
            assert opens <= events["installing"] < opens + 180  # inside the window
        else:
            assert "installing" not in events  # 12 hours ahead: still outside it
    rows = admin.get(f"/admin/rollouts/{shown['rollout_id']}/devices").json()["devices"]
    assert {r["status"] for r in rows if offsets[r["device_id"]] != 0} == {"cancelled"}


def test_a_firmware_that_fails_after_installing_is_aborted_and_rolled_back(
    system, admin, telemetry, tmp_path
) -> None:
    """Every install succeeds, then some devices reboot-loop or go quiet: their soaks fail,
    the Wilson bound aborts the rollout, and the devices that took it get 1.0.0 back."""
    model, n = "RS-1-SOAK", 30
    for version in ("1.0.0", "2.0.0"):
        upload(admin, model, version)
    enrol(admin, model, n, tmp_path / "secrets.csv")
    ota = FirmwareOta(KEYS.public_b64, system.urls["ota"], settings=FAST, reboot_loop=0.2,
                      telemetry_silent=0.1, faulty_versions=frozenset({"2.0.0"}))  # fmt: skip
    health = {"soak_minutes": 3, "silence_minutes": 0.25, "max_reboots": 1}
    body = {"firmware_version": "2.0.0", "model": model, "timeout_minutes": 5,
            "policy": {"health": health, "rollback": True}}  # fmt: skip

    async def scenario() -> tuple[dict, dict, list[str]]:
        config = fleet_config(system, tmp_path / "secrets.csv", n)
        async with Fleet(config, ota=ota) as fleet:
            assert await fleet.wait_until(lambda f: len(f.connected_ids()) == n, 60)
            created = await asyncio.to_thread(admin.post, "/admin/rollouts", json=body)
            assert created.status_code == 201, created.text
            rid = created.json()["rollout_id"]
            shown = await poll(admin, telemetry, rid, lambda r: r["status"] != "active", 150)
            back_id = shown["rollback"]["rollout_id"]
            assert back_id, shown
            back = await poll(admin, telemetry, back_id, lambda r: r["status"] != "active", 150)
            versions = [d.firmware_version for d in fleet.devices]
        await ota.close()
        return shown, back, versions

    shown, back, versions = asyncio.run(scenario())
    assert shown["status"] == "aborted", shown
    assert shown["counts"].get("failed", 0) == 0  # no install failed: only the soaks did
    assert shown["soak_failures"], shown
    assert set(shown["soak_failures"]) <= {"reboot_loop", "telemetry_silent"}
    failures, finished = map(int, re.search(r"(\d+)/(\d+)", shown["status_reason"]).groups())
    assert failures >= 2 and wilson(failures, finished).low > 0.02
    assert shown["rollback"]["version"] == "1.0.0"
    assert back["firmware_version"] == "1.0.0" and back["rollback"]["of"] == shown["rollout_id"]
    assert back["status"] == "completed", back
    installed = shown["counts"].get("success", 0) + shown["counts"].get("soaking", 0)
    installed += shown["counts"].get("soak_failed", 0)
    assert back["counts"].get("success", 0) == installed > 0
    assert "2.0.0" not in versions  # every device that took 2.0.0 runs 1.0.0 again
