"""OTA over HTTP: firmware upload checks, rollouts, signed resumable downloads, status
reports, auto-abort, and triggers a device missed (real MQTT against the local broker); the
rest of OTA over MQTT is the end-to-end fleet test's."""

import asyncio
import base64
import contextlib
import json
import time
import uuid
from urllib.parse import parse_qs, urlencode, urlsplit

import aiomqtt
import httpx
import pytest
from rs1contract.topics import device_topic
from rs1fw.images import build_image
from rs1fw.signing import sign_image

from helpers import FIRMWARE_KEYS, NO_SOAK, at_once
from rs1.identity.keys import hour_of, mqtt_password

KEYS = FIRMWARE_KEYS  # the key the Workers trust; external systems name theirs


@pytest.fixture(autouse=True)
def _signing_key(firmware_keys) -> None:
    global KEYS
    KEYS = firmware_keys


def model_name() -> str:
    return "T" + uuid.uuid4().hex[:8]  # a model per test: one active rollout per model


def upload(admin: httpx.Client, model: str, version: str, size: int = 4096, image=None):
    image = image or build_image(model, version, size)
    manifest = sign_image(image, KEYS.private_pem, model, version)
    header = base64.b64encode(manifest.model_dump_json().encode()).decode()
    response = admin.put(
        f"/admin/firmware/{model}/{version}", content=image, headers={"x-rs1-manifest": header}
    )
    return response, image, manifest


def report_state(webhook: httpx.Client, device_id: str, version: str, online: bool = True) -> None:
    now = int(time.time() * 1000)
    body = {
        "id": uuid.uuid4().hex,
        "clientid": device_id,
        "username": device_id,
        "topic": device_topic(device_id, "state"),
        "payload": f'{{"online": {str(online).lower()}, "firmware_version": "{version}"}}',
        "timestamp": now,
        "publish_received_at": now,
    }
    assert webhook.post("/webhook/device-state", json=body).status_code == 200


def report_ota(
    webhook: httpx.Client, device_id: str, rollout_id: str, status: str, **extra
) -> dict:
    now = int(time.time() * 1000)
    payload = {"rollout_id": rollout_id, "status": status, "version": "0.0.0", **extra}
    body = {
        "id": uuid.uuid4().hex,
        "clientid": device_id,
        "username": device_id,
        "topic": device_topic(device_id, "ota", "status"),
        "payload": json.dumps(payload),
        "timestamp": now,
        "publish_received_at": now,
    }
    response = webhook.post("/webhook/ota-status", json=body)
    assert response.status_code == 200, response.text
    return response.json()


def offer(ota: httpx.Client, device: dict, model: str) -> httpx.Response:
    password = mqtt_password(device["device_secret"], device["device_id"], hour_of(time.time()))
    headers = {"x-device-id": device["device_id"], "x-device-password": password}
    return ota.get(f"/firmware/{model}/offer", headers=headers)


def fleet(enroll, webhook, model: str, n: int, version: str = "1.0.0") -> list[dict]:
    devices = []
    for _ in range(n):
        d = enroll(model=model)
        report_state(webhook, d["device_id"], version)
        devices.append(d)
    return devices


def create(admin, model: str, version: str, **body) -> dict:
    response = admin.post(
        "/admin/rollouts",
        json={"firmware_version": version, "model": model, "policy": NO_SOAK, **body},
    )
    assert response.status_code == 201, response.text
    return response.json()


def test_upload_verifies_signature_and_is_idempotent(admin) -> None:
    model = model_name()
    response, image, _ = upload(admin, model, "2.0.0")
    assert response.status_code == 201
    assert upload(admin, model, "2.0.0", image=image)[0].status_code == 200  # same bytes
    other = build_image(model, "2.0.0", 5000)
    assert upload(admin, model, "2.0.0", image=other)[0].status_code == 409
    # Tampered: signed bytes differ from the uploaded ones.
    tampered = bytearray(build_image(model, "2.0.2", 4096))
    manifest2 = sign_image(bytes(tampered), KEYS.private_pem, model, "2.0.2")
    tampered[100] ^= 0xFF
    header = base64.b64encode(manifest2.model_dump_json().encode()).decode()
    bad = admin.put(f"/admin/firmware/{model}/2.0.2", content=bytes(tampered),
                    headers={"x-rs1-manifest": header})  # fmt: skip
    assert bad.status_code == 422 and bad.json()["error"] == "firmware_rejected"
    unsigned = admin.put(f"/admin/firmware/{model}/2.0.3", content=b"x" * 10)
    assert unsigned.status_code == 422
    listed = {(f["model"], f["version"]) for f in admin.get("/admin/firmware").json()["firmware"]}
    assert (model, "2.0.0") in listed and (model, "2.0.2") not in listed


def test_upload_refuses_a_relabelled_signed_image(admin) -> None:
    # The signature covers the bytes, not the manifest's labels: relabelling keeps size,
    # sha256 and signature valid, and only the image's signed header can tell.
    model, other = model_name(), model_name()
    image = build_image(model, "2.9.0", 4096)
    signed = sign_image(image, KEYS.private_pem, model, "2.9.0")

    def put(label_model: str, label_version: str) -> httpx.Response:
        manifest = signed.model_copy(update={"model": label_model, "version": label_version})
        header = base64.b64encode(manifest.model_dump_json().encode()).decode()
        return admin.put(f"/admin/firmware/{label_model}/{label_version}", content=image,
                         headers={"x-rs1-manifest": header})  # fmt: skip

    as_newer = put(model, "3.0.0")
    assert as_newer.status_code == 422, as_newer.text
    assert as_newer.json()["error"] == "firmware_rejected"
    assert "header says version 2.9.0, the manifest says 3.0.0" in as_newer.json()["message"]
    as_other_model = put(other, "2.9.0")
    assert as_other_model.status_code == 422, as_other_model.text
    assert as_other_model.json()["error"] == "firmware_rejected"
    mismatch = f"header says model {model}, the manifest says {other}"
    assert mismatch in as_other_model.json()["message"]
    listed = {(f["model"], f["version"]) for f in admin.get("/admin/firmware").json()["firmware"]}
    assert (model, "3.0.0") not in listed and (other, "2.9.0") not in listed
    honest = put(model, "2.9.0")
    assert honest.status_code == 201, honest.text


def test_offer_and_signed_resumable_download(admin, webhook, ota, enroll) -> None:
    model = model_name()
    _, image, manifest = upload(admin, model, "1.1.0", size=300_000)
    devices = fleet(enroll, webhook, model, 3)
    rollout = create(admin, model, "1.1.0", stages=[{"percent": 100}])
    assert rollout["status"] == "active"
    got = offer(ota, devices[0], model)
    assert got.status_code == 200, got.text
    body = got.json()
    assert body["sha256"] == manifest.sha256 and body["size"] == len(image)
    url = urlsplit(body["url"])
    path = f"{url.path}?{url.query}"
    full = ota.get(path)
    assert full.status_code == 200 and full.content == image
    assert full.headers["etag"] == f'"{manifest.sha256}"'
    assert full.headers["accept-ranges"] == "bytes"
    part = ota.get(path, headers={"range": "bytes=100000-"})
    assert part.status_code == 206 and part.content == image[100000:]
    assert part.headers["content-range"] == f"bytes 100000-{len(image) - 1}/{len(image)}"
    assert ota.get(path, headers={"range": f"bytes={len(image)}-"}).status_code == 416
    query = parse_qs(url.query)
    expired = dict(query, exp=[str(int(time.time()) - 1)])
    forged = ota.get(f"{url.path}?{urlencode(expired, doseq=True)}")
    assert forged.status_code == 403  # changing exp breaks the signature
    other = dict(query, device=[devices[1]["device_id"]])
    assert ota.get(f"{url.path}?{urlencode(other, doseq=True)}").status_code == 403
    wrong = offer(ota, {**devices[0], "device_secret": "0" * 64}, model)
    assert wrong.status_code == 401


def test_status_reports_and_post_reboot_validation(admin, webhook, ota, enroll) -> None:
    model = model_name()
    upload(admin, model, "1.2.0")
    (device,) = fleet(enroll, webhook, model, 1)
    rollout = create(admin, model, "1.2.0")
    assert offer(ota, device, model).status_code == 200
    rid, me = rollout["rollout_id"], device["device_id"]
    assert report_ota(webhook, me, rid, "downloading", progress=50)["applied"]
    assert not report_ota(webhook, me, rid, "downloading", progress=25)["applied"]  # stale
    report_ota(webhook, me, rid, "installing")
    assert report_ota(webhook, me, rid, "success")["status"] == "rebooting"  # not validated yet
    report_state(webhook, me, "1.2.0")  # the device came back on the new version
    shown = admin.get(f"/admin/rollouts/{rid}").json()
    assert shown["counts"] == {"success": 1} and shown["status"] == "completed"


def test_two_failures_abort_and_cancel(admin, webhook, ota, enroll) -> None:
    model = model_name()
    upload(admin, model, "3.0.0")
    devices = fleet(enroll, webhook, model, 6)
    rollout = create(admin, model, "3.0.0")
    rid = rollout["rollout_id"]
    for d in devices:
        assert offer(ota, d, model).status_code == 200
    for d in devices[:2]:
        report_ota(webhook, d["device_id"], rid, "failed", error="self_test_failed")
    shown = admin.get(f"/admin/rollouts/{rid}").json()
    assert shown["status"] == "aborted"
    assert shown["counts"].get("cancelled") == 4
    assert shown["failure_rate_ci95"][0] > 0.02
    alerts = admin.get("/admin/alerts").json()["alerts"]
    assert any(a["alert_id"] == f"rollout_aborted:{rid}" for a in alerts)
    assert offer(ota, devices[3], model).status_code == 204  # nothing offered any more


def test_downgrades_and_installed_versions_are_skipped(admin, webhook, enroll) -> None:
    model = model_name()
    upload(admin, model, "1.5.0")
    fleet(enroll, webhook, model, 1, version="2.0.0")  # newer: never downgraded
    fleet(enroll, webhook, model, 1, version="1.5.0")  # already there
    fleet(enroll, webhook, model, 1, version="1.0.0")  # needs it
    rollout = create(admin, model, "1.5.0")
    assert rollout["counts"]["skipped"] == 2
    assert rollout["status"] == "active"
    again = {"firmware_version": "1.5.0", "model": model}
    assert admin.post("/admin/rollouts", json=again).status_code == 409  # one per model


def test_stages_only_grow_and_timeouts_count_as_failures(admin, webhook, telemetry, enroll) -> None:
    model = model_name()
    upload(admin, model, "4.0.0")
    fleet(enroll, webhook, model, 40)
    stages = [{"percent": 10}, {"percent": 50}, {"percent": 100}]
    rollout = create(admin, model, "4.0.0", stages=stages, timeout_minutes=0.01)
    rid = rollout["rollout_id"]
    first = sum(rollout["counts"].values())
    advanced = admin.post(f"/admin/rollouts/{rid}/advance", params={"from_stage": 0}).json()
    assert advanced["current_stage"] == 1 and sum(advanced["counts"].values()) >= first
    stale = admin.post(f"/admin/rollouts/{rid}/advance", params={"from_stage": 0})
    assert stale.status_code == 409 and stale.json()["error"] == "stage_changed"
    assert admin.post(f"/admin/rollouts/{rid}/advance").json()["current_stage"] == 2
    last = admin.post(f"/admin/rollouts/{rid}/advance")
    assert last.status_code == 409 and last.json()["error"] == "last_stage"
    time.sleep(1.0)
    # Triggers could not be published here (no broker), so devices are pending, not timed
    # out: an offline device is not a failing one.
    telemetry.get("/cdn-cgi/local/scheduled", params={"cron": "* * * * *"})
    shown = admin.get(f"/admin/rollouts/{rid}").json()
    assert shown["counts"].get("timed_out", 0) == 0
    paused = admin.post(f"/admin/rollouts/{rid}/pause").json()
    assert paused["status"] == "paused"
    assert admin.post(f"/admin/rollouts/{rid}/resume").json()["status"] == "active"
    assert admin.post(f"/admin/rollouts/{rid}/abort").json()["status"] == "aborted"


async def _connect_and_announce(system, device: dict, within_s: float = 3.0) -> list[dict]:
    """Connect as the device (clean session), subscribe to its triggers, publish `state`
    online as the firmware does after subscribing; return the triggers that arrive."""
    me = device["device_id"]
    pw = mqtt_password(device["device_secret"], me, hour_of(time.time()))
    client = aiomqtt.Client("127.0.0.1", system.mqtt_port, identifier=me, username=me,
                            password=pw, clean_session=True)  # fmt: skip
    triggers: list[dict] = []
    async with client:
        await client.subscribe(device_topic(me, "ota", "trigger"), qos=1)
        state = {"online": True, "firmware_version": "1.0.0"}
        await client.publish(device_topic(me, "state"), json.dumps(state), qos=1)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(within_s):
                async for message in client.messages:
                    triggers.append(json.loads(message.payload))
    return triggers


def test_a_trigger_lost_with_the_link_is_sent_again_on_return(admin, webhook, enroll, system):
    if system.mqtt_port is None:
        pytest.skip("needs the system's MQTT broker (RS1_MQTT_PORT, RS1_EMQX_API_URL)")
    model = model_name()
    upload(admin, model, "5.0.0")
    device = enroll(model=model)
    report_state(webhook, device["device_id"], "1.0.0", online=False)
    rid = create(admin, model, "5.0.0")["rollout_id"]
    # Offline: pending. Back online: the trigger arrives; the device drops the link before
    # acting on it (a clean session loses what was in flight) and comes back: sent again,
    # at most three times in all.
    got = [asyncio.run(_connect_and_announce(system, device)) for _ in range(4)]
    assert [len(g) for g in got] == [1, 1, 1, 0]
    assert all(g[0]["rollout_id"] == rid and g[0]["action"] == "install" for g in got[:3])
    counts = admin.get(f"/admin/rollouts/{rid}").json()["counts"]
    assert counts == {"triggered": 1}


def test_racing_uploads_of_one_version_store_one_image(admin, webhook, ota, enroll) -> None:
    """Two different signed images for one version, each uploaded three times at once: one
    wins, its twins get 200, the others 409, and devices download exactly the winner."""
    model = model_name()
    images = [build_image(model, "1.2.0", size) for size in (5000, 6000)]
    signed = [sign_image(i, KEYS.private_pem, model, "1.2.0") for i in images]
    headers = [
        {"x-rs1-manifest": base64.b64encode(m.model_dump_json().encode()).decode()} for m in signed
    ]
    url = f"/admin/firmware/{model}/1.2.0"
    calls = [
        (lambda i=i: admin.put(url, content=images[i], headers=headers[i]))
        for i in (0, 1, 0, 1, 0, 1)
    ]
    answers = at_once(calls)
    statuses = [a.status_code for a in answers]
    assert statuses.count(201) == 1, statuses
    winner = [0, 1, 0, 1, 0, 1][statuses.index(201)]
    for i, status in zip((0, 1, 0, 1, 0, 1), statuses, strict=True):
        assert status in ((200, 201) if i == winner else (409,)), statuses
    devices = fleet(enroll, webhook, model, 1)
    create(admin, model, "1.2.0", stages=[{"percent": 100}])
    body = offer(ota, devices[0], model).json()
    assert body["sha256"] == signed[winner].sha256
    link = urlsplit(body["url"])
    assert ota.get(f"{link.path}?{link.query}").content == images[winner]


def test_racing_rollout_creates_start_one(admin, webhook, enroll) -> None:
    model = model_name()
    assert upload(admin, model, "2.0.0")[0].status_code == 201
    fleet(enroll, webhook, model, 1)  # a device in flight keeps the winner live
    body = {"firmware_version": "2.0.0", "model": model}
    answers = at_once([lambda: admin.post("/admin/rollouts", json=body)] * 5)
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [201, 409, 409, 409, 409], statuses
    assert all(a.json()["error"] == "rollout_active" for a in answers if a.status_code == 409)
