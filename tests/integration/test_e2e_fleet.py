"""End to end: real MQTT clients → the EMQX-compatible local broker → the Workers → D1."""

import asyncio
import time

import httpx
import pytest

from rs1.devices import access_cache
from rs1.identity.claim import claim_code
from rs1tools import ledger_sources
from rs1tools.devvars import secret
from rs1tools.fleet import Fleet, FleetConfig, parse_faults
from rs1tools.fleet.config import FaultTiming

DEVICES = 50
ROUTE = ledger_sources.TelemetryRoute.from_settings()


def broker_metrics(system) -> ledger_sources.BrokerMetrics | None:
    """The broker's metrics API and ledger tap: the local system's (an external one may not
    have our broker's tap)."""
    if system.broker_ledger is None or system.emqx_api_url is None:
        return None
    return ledger_sources.BrokerMetrics(system.emqx_api_url, secret("EMQX_API_KEY"))


@pytest.fixture(autouse=True)
def _needs_broker(system) -> None:
    if system.mqtt_port is None:
        pytest.skip("needs the system's MQTT broker (RS1_MQTT_PORT, RS1_EMQX_API_URL)")


def telemetry_rows(admin: httpx.Client) -> int:
    return int(admin.get("/admin/fleet").json()["telemetry_rows"])


def telemetry_ids(admin: httpx.Client, device_id: str) -> list[str]:
    response = admin.get(f"/api/devices/{device_id}/telemetry", params={"from": 0, "limit": 1000})
    assert response.status_code == 200, response.text
    return [item["message_id"] for item in response.json()["items"]]


async def wait_for(predicate, within_s: float) -> bool:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        await asyncio.sleep(0.25)
    return predicate()


def test_fleet_end_to_end(system, admin, as_user) -> None:
    config = FleetConfig(
        admin_token=admin.headers["authorization"].split()[1],
        devices=DEVICES,
        duration_s=None,
        mqtt_port=system.mqtt_port,
        api=system.urls["device_api"],
        telemetry_interval_s=1.0,
        faults=parse_faults("wrong-password:0.02,foreign-topic:0.02"),
        timing=FaultTiming(foreign_interval_s=0.5),
        ramp_s=2.0,
        seed=11,
    )
    asyncio.run(scenario(config, admin, system, as_user))


async def scenario(config: FleetConfig, admin: httpx.Client, system, as_user) -> None:
    metrics = broker_metrics(system)
    before = None
    if metrics is not None:  # what earlier tests sent through this broker is not ours
        ledger_sources.settle(metrics, ROUTE, lambda: telemetry_rows(admin))
        before = ledger_sources.mark(metrics, system.broker_ledger, ROUTE)
    async with Fleet(config) as fleet:
        devices = fleet.devices
        wrong = [d for d in devices if d.fault and d.fault.value == "wrong-password"]
        foreign = [d for d in devices if d.fault and d.fault.value == "foreign-topic"]
        normal = [d for d in devices if d.fault is None]
        assert len(wrong) == 1 and len(foreign) == 1
        # 49 of 50 connect with their hourly HMAC password; the wrong one is refused.
        assert await wait_for(lambda: len(fleet.connected_ids()) == DEVICES - 1, 60)
        assert wrong[0].device_id not in fleet.connected_ids()
        assert wrong[0].last_refusal is not None
        await asyncio.sleep(4)  # telemetry, duplicates and forged publishes flow

        # State and telemetry reached D1 through the webhooks (in their own time: on workerd
        # the webhooks of 50 connecting devices take longer than the 4 s above).
        def shown() -> dict:
            return admin.get(f"/admin/devices/{normal[0].device_id}").json()

        assert await wait_for(lambda: shown()["firmware_version"] == "1.0.0", 20), shown()
        assert shown()["online"] is True
        assert await wait_for(lambda: len(telemetry_ids(admin, normal[0].device_id)) >= 3, 20)
        ids = telemetry_ids(admin, normal[0].device_id)
        assert len(ids) == len(set(ids))
        assert admin.get(f"/admin/devices/{wrong[0].device_id}").json()["online"] is False

        # The foreign device's forged telemetry (its own message-id prefix) reached no victim.
        summary = fleet.summary()
        assert summary.foreign_attempts > 0
        prefix = foreign[0].device_id[:8]
        for victim in normal[:20]:
            assert not [m for m in telemetry_ids(admin, victim.device_id) if m.startswith(prefix)]

        # A zone change by the owner reaches the device, which applies and acknowledges it.
        zoned = normal[2]
        owner = as_user("e2e-owner")
        code = claim_code(zoned.identity.device_secret)
        claim = {"device_id": zoned.device_id, "claim_code": code}
        assert owner.post("/api/devices/claim", json=claim).status_code == 201
        zones = {"zones": [{"name": "sofa", "vertices": [[-800, 1500], [800, 1500], [0, 2600]]}]}
        put = owner.put(
            f"/api/devices/{zoned.device_id}/zones", json=zones, headers={"if-match": "0"}
        )
        assert put.status_code == 200 and put.json()["delivered"] is True
        assert await wait_for(lambda: zoned.applied_version == 1, 10)
        assert await wait_for(
            lambda: (
                owner.get(f"/api/devices/{zoned.device_id}/zones").json()["applied_version"] == 1
            ),
            10,
        )

        # Ops ask a device for diagnostics; its answer comes back through telemetry/diag.
        asked = admin.post(f"/admin/devices/{zoned.device_id}/diag", json={"kind": "basic"})
        assert asked.status_code == 202 and asked.json()["delivered"] is True
        diag_url = f"/admin/devices/{zoned.device_id}/diag/{asked.json()['request_id']}"
        assert await wait_for(lambda: admin.get(diag_url).json()["status"] == "answered", 10)
        assert admin.get(diag_url).json()["result"]
        listed = admin.get("/admin/devices", params={"owner": "e2e-owner"}).json()["devices"]
        assert [d["device_id"] for d in listed] == [zoned.device_id]

        # Revoking a connected device ends its session, and its reconnects are refused: at once
        # by any isolate that has not cached it as active, by all of them once the MQTT access
        # cache's entries expired, when the revoke kicks it again (README, "MQTT auth cache").
        target = normal[1]
        revoked = admin.post(f"/admin/devices/{target.device_id}/revoke").json()
        assert revoked["session"] == "ended"
        assert await wait_for(lambda: target.device_id not in fleet.connected_ids(), 10)
        bound = access_cache.MAX_TTL_S + access_cache.KICK_AGAIN_S + 15  # + reconnect backoff
        assert await wait_for(
            lambda: (
                target.last_refusal is not None and target.device_id not in fleet.connected_ids()
            ),
            bound,
        )

        # Every telemetry message the fleet sent is accounted for, from device to D1.
        if metrics is None:
            return
        led = await ledger_sources.take(
            fleet, metrics, system.broker_ledger, [system.state_dir],
            lambda: telemetry_rows(admin), since=before,
        )  # fmt: skip
        print("\n".join(led.lines()))
        assert led.unexplained == 0, led.lines()
        assert led.stored > 0 and led.duplicates > 0
