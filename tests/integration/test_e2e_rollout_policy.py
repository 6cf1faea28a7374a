"""Rollout policy v2 end to end with the simulated fleet (issue 17): a rate ramp seen in the
trigger timestamps, a maintenance window the devices keep (download now, install later), and
a health-gated abort of a firmware that installs fine and then reboot-loops or goes quiet,
rolled back to the previous version."""

import asyncio
import base64
import time
from collections.abc import Callable

import httpx
import pytest
from rs1fw.images import build_image
from rs1fw.ota_settings import OtaSettings
from rs1fw.signing import sign_image

from helpers import FIRMWARE_KEYS, random_mac
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
    image = build_image(model, version, 32 * 1024)
    manifest = sign_image(image, KEYS.private_pem, model, version)
    header = base64.b64encode(manifest.model_dump_json().encode()).decode()
    response = admin.put(f"/admin/firmware/{model}/{version}", content=image,
                         headers={"x-rs1-manifest": header})  # fmt: skip
    assert response.status_code in (200, 201), response.text


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
