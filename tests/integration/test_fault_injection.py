"""Fault injection on the local host (scripts/local_runtime/faults.mjs, rs1tools.faults): with
D1, R2, the EMQX API or a route failing as production fails, the Workers answer as designed
(503 storage_unavailable, never a 500; a config push not delivered), recover when the fault
ends, and keep their data over a host restart. One system of its own, with faults on."""

import asyncio
import base64
import json
import os
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import aiomqtt
import httpx
import pytest
from rs1contract.topics import device_topic
from rs1fw.images import build_image
from rs1fw.signing import sign_image
from system_fixtures import ENV_URLS

from helpers import FIRMWARE_KEYS, NO_SOAK, random_mac
from rs1.identity.claim import claim_code
from rs1.identity.keys import hour_of, mqtt_password
from rs1tools.devvars import secret
from rs1tools.faults import FaultControl, FaultRule
from rs1tools.sessions import api_token, bearer, bootstrap_token
from rs1tools.system import LocalSystem

MODEL = "TFAULT1"
ZONES = {"zones": [{"name": "desk", "vertices": [[-500, 1000], [500, 1000], [0, 2000]]}]}


@pytest.fixture(scope="module")
def faulty(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalSystem]:
    if all(os.environ.get(v) for v in ENV_URLS.values()):
        pytest.skip("needs the local runtime (fault injection lives in its host)")
    system = LocalSystem.on_free_ports(
        tmp_path_factory.mktemp("rs1-faults"),
        worker_vars={
            "FIRMWARE_PUBLIC_KEY": FIRMWARE_KEYS.public_b64,
            "API_RATE_LIMIT_PER_MINUTE": "1000000",
        },
        faults=True,
        isolates=1,  # starts (and restarts) in half the time
    )
    system.start()
    try:
        yield system
    finally:
        system.stop()


@pytest.fixture
def control(faulty: LocalSystem) -> Iterator[FaultControl]:
    control = faulty.fault_control()
    control.clear()
    yield control
    control.clear()


def client(system: LocalSystem, worker: str) -> httpx.Client:
    return httpx.Client(base_url=system.urls[worker], timeout=30)


@pytest.fixture(scope="module")
def admin(faulty: LocalSystem) -> Iterator[httpx.Client]:
    token = bootstrap_token("fault-tests", "admin", 7200, state_dir=faulty.state_dir)
    with client(faulty, "device_api") as c:
        c.headers.update(bearer(token))
        yield c


@pytest.fixture(scope="module")
def webhook(faulty: LocalSystem) -> Iterator[httpx.Client]:
    with client(faulty, "telemetry") as c:
        c.headers["x-webhook-secret"] = secret("WEBHOOK_SECRET")
        yield c


@pytest.fixture(scope="module")
def device(admin: httpx.Client) -> dict:
    response = admin.post("/admin/devices", json={"mac_address": random_mac(), "model": MODEL})
    assert response.status_code == 201, response.text
    return response.json()


def assert_storage_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    body = response.json()
    assert body["error"] == "storage_unavailable"
    assert body["request_id"] == response.headers["x-request-id"]
    assert response.headers["retry-after"] == "1"


def test_a_d1_fault_answers_503_and_clears(admin, device, control) -> None:
    path = f"/admin/devices/{device['device_id']}"
    assert admin.get(path).status_code == 200
    control.set([FaultRule("d1", rate=1.0, binding="DB", worker="rs1-device-api")])
    for _ in range(3):
        assert_storage_unavailable(admin.get(path))
    assert_storage_unavailable(admin.get("/admin/devices"))
    (rule,) = control.state()
    assert rule["seen"] == rule["injected"] >= 4 and rule["active"]
    control.clear()
    assert admin.get(path).status_code == 200


def test_a_window_ends_by_itself(admin, device, control) -> None:
    path = f"/admin/devices/{device['device_id']}"
    set_at = time.monotonic()
    control.set([FaultRule("d1", rate=1.0, start_s=1.0, duration_s=2.0)])
    assert admin.get(path).status_code == 200  # not started yet
    time.sleep(max(0.0, set_at + 1.3 - time.monotonic()))
    assert_storage_unavailable(admin.get(path))
    time.sleep(max(0.0, set_at + 3.3 - time.monotonic()))
    assert admin.get(path).status_code == 200  # over, with the rule still set
    (rule,) = control.state()
    assert not rule["active"] and rule["injected"] >= 1


def test_route_faults_answer_503_or_reset(webhook, control) -> None:
    body = {"clientid": "x", "username": "x", "password": "y"}
    paths = ["/webhook/mqtt-auth", "/webhook/mqtt-acl"]
    control.set([FaultRule("route", rate=1.0, paths=tuple(paths), error="503")])
    refused = webhook.post("/webhook/mqtt-auth", json=body)
    assert refused.status_code == 503
    assert refused.json()["error"] == "service_unavailable"
    assert refused.json()["request_id"] == refused.headers["x-request-id"]
    assert refused.headers["retry-after"] == "1"
    assert webhook.get("/webhook/health").status_code == 200  # other paths: untouched
    control.set([FaultRule("route", rate=1.0, paths=tuple(paths), error="reset")])
    with pytest.raises(httpx.TransportError):
        webhook.post("/webhook/mqtt-auth", json=body)
    (rule,) = control.state()
    assert (rule["seen"], rule["injected"]) == (1, 1)
    control.clear()
    assert webhook.post("/webhook/mqtt-auth", json=body).status_code == 200


def report_state(webhook: httpx.Client, device_id: str, version: str) -> None:
    now = int(time.time() * 1000)
    body = {"id": f"s-{now}", "clientid": device_id, "username": device_id,
            "topic": device_topic(device_id, "state"),
            "payload": json.dumps({"online": True, "firmware_version": version}),
            "timestamp": now, "publish_received_at": now}  # fmt: skip
    assert webhook.post("/webhook/device-state", json=body).status_code == 200


def test_an_r2_fault_makes_a_firmware_download_answer_503(
    faulty, admin, webhook, device, control
) -> None:
    image = build_image(MODEL, "9.0.0", 4096)
    manifest = sign_image(image, FIRMWARE_KEYS.private_pem, MODEL, "9.0.0")
    header = base64.b64encode(manifest.model_dump_json().encode()).decode()
    put = admin.put(f"/admin/firmware/{MODEL}/9.0.0", content=image,
                    headers={"x-rs1-manifest": header})  # fmt: skip
    assert put.status_code == 201, put.text
    report_state(webhook, device["device_id"], "1.0.0")
    body = {"firmware_version": "9.0.0", "model": MODEL, "policy": NO_SOAK}
    rollout = admin.post("/admin/rollouts", json=body)
    assert rollout.status_code == 201, rollout.text
    me = device["device_id"]
    password = mqtt_password(device["device_secret"], me, hour_of(time.time()))
    with client(faulty, "ota") as ota:
        offer = ota.get(f"/firmware/{MODEL}/offer",
                        headers={"x-device-id": me, "x-device-password": password})  # fmt: skip
        assert offer.status_code == 200, offer.text
        url = urlsplit(offer.json()["url"])
        control.set([FaultRule("r2", rate=1.0, binding="FIRMWARE")])
        assert_storage_unavailable(ota.get(f"{url.path}?{url.query}"))
        assert control.state()[0]["injected"] == 1
        control.clear()
        full = ota.get(f"{url.path}?{url.query}")
        assert full.status_code == 200 and full.content == image


async def _zone_put_seen_by_device(
    system: LocalSystem, owner: httpx.Client, device: dict, version: int
) -> tuple[httpx.Response, list[dict]]:
    """PUT zones (If-Match: version) while the device is connected and subscribed to its
    config/update topic; returns the answer and the updates the device received."""
    me = device["device_id"]
    password = mqtt_password(device["device_secret"], me, hour_of(time.time()))
    got: list[dict] = []
    async with aiomqtt.Client("127.0.0.1", system.mqtt_port, identifier=me, username=me,
                              password=password, clean_session=True) as mqtt:  # fmt: skip
        await mqtt.subscribe(device_topic(me, "config", "update"), qos=1)
        response = await asyncio.to_thread(
            owner.put, f"/api/devices/{me}/zones", json=ZONES, headers={"if-match": str(version)}
        )
        try:
            async with asyncio.timeout(1.0):
                async for message in mqtt.messages:
                    got.append(json.loads(message.payload))
        except TimeoutError:
            pass
    return response, got


def test_an_emqx_api_fault_leaves_a_zone_update_undelivered(faulty, admin, control) -> None:
    response = admin.post("/admin/devices", json={"mac_address": random_mac()})
    assert response.status_code == 201, response.text
    device = response.json()
    owner_token = api_token(admin, "fault-owner")
    with client(faulty, "device_api") as owner:
        owner.headers.update(bearer(owner_token))
        claim = {
            "device_id": device["device_id"],
            "claim_code": claim_code(device["device_secret"]),
        }
        assert owner.post("/api/devices/claim", json=claim).status_code == 201
        control.set([FaultRule("emqx_api", rate=1.0)])
        failed, got = asyncio.run(_zone_put_seen_by_device(faulty, owner, device, 0))
        # Stored (version 1) but not pushed: the device gets it when it reconnects.
        assert failed.status_code == 200, failed.text
        assert failed.json()["delivered"] is False and failed.json()["desired_version"] == 1
        assert got == []
        assert control.state()[0]["injected"] >= 1
        control.clear()
        sent, got = asyncio.run(_zone_put_seen_by_device(faulty, owner, device, 1))
        assert sent.status_code == 200, sent.text
        assert sent.json()["delivered"] is True
        # At least once: the broker's connect event also pushes the pending version, which is
        # 1 or 2 depending on whether that webhook read it before or after the PUT (a device
        # applies only versions above the one it runs, so an older copy changes nothing).
        versions = [u["version"] for u in got]
        assert 2 in versions and set(versions) <= {1, 2}, versions


def test_an_unreachable_emqx_api_is_a_retryable_503_never_a_500(admin, device, control) -> None:
    control.set([FaultRule("emqx_api", rate=1.0)])
    asked = admin.post(f"/admin/devices/{device['device_id']}/diag", json={"kind": "basic"})
    control.clear()
    assert asked.status_code == 503, asked.text
    assert asked.json()["error"] == "emqx_unavailable"
    again = admin.post(f"/admin/devices/{device['device_id']}/diag", json={"kind": "basic"})
    assert again.status_code == 202, again.text


def test_restart_host_keeps_the_data(faulty, admin, device, control) -> None:
    control.set([FaultRule("kv", rate=1.0)])
    seconds = faulty.restart_host(kill=True)
    assert 0 < seconds < 60
    print(f"host restarted (SIGKILL) and healthy in {seconds:.1f} s")
    assert control.state() == []  # control rules live in the host process only
    shown = admin.get(f"/admin/devices/{device['device_id']}")
    assert shown.status_code == 200, shown.text
    assert shown.json()["device_id"] == device["device_id"]


def test_restart_broker_on_the_same_ports(faulty) -> None:
    seconds = faulty.restart_broker()
    assert 0 < seconds < 30
    print(f"broker restarted and answering in {seconds:.1f} s")
    assert httpx.get(f"{faulty.emqx_api_url}/status", timeout=5).status_code == 200
