"""Fleet targeting and rollout policy v2 over HTTP (issue 17): policy validation, dynamic
cohorts from queries and device-reported tags, scheduled starts, the owner's time zone, the
per-device view, and security versions on releases."""

import base64
import json
import time
import uuid

import httpx
import pytest
from rs1contract.topics import device_topic
from rs1fw.images import build_image
from rs1fw.signing import sign_image

from helpers import FIRMWARE_KEYS
from rs1.identity.claim import claim_code

KEYS = FIRMWARE_KEYS
EVERY_MINUTE = "* * * * *"
NO_SOAK = {"health": {"soak_minutes": 0}}


@pytest.fixture(autouse=True)
def _signing_key(firmware_keys) -> None:
    global KEYS
    KEYS = firmware_keys


def model_name() -> str:
    return "P" + uuid.uuid4().hex[:8]


def upload(admin: httpx.Client, model: str, version: str, security_version: int = 0) -> dict:
    image = build_image(model, version, 4096)
    manifest = sign_image(image, KEYS.private_pem, model, version)
    manifest = manifest.model_copy(update={"security_version": security_version})
    header = base64.b64encode(manifest.model_dump_json().encode()).decode()
    response = admin.put(f"/admin/firmware/{model}/{version}", content=image,
                         headers={"x-rs1-manifest": header})  # fmt: skip
    assert response.status_code == 201, response.text
    return response.json()


def state(webhook: httpx.Client, device_id: str, **payload) -> None:
    now = int(time.time() * 1000)
    body = {
        "id": uuid.uuid4().hex, "clientid": device_id, "username": device_id,
        "topic": device_topic(device_id, "state"),
        "payload": json.dumps({"online": True, "firmware_version": "1.0.0", **payload}),
        "timestamp": now, "publish_received_at": now,
    }  # fmt: skip
    assert webhook.post("/webhook/device-state", json=body).status_code == 200


def cron(telemetry: httpx.Client, at_ms: int) -> None:
    fired = telemetry.get("/cdn-cgi/local/scheduled", params={"cron": EVERY_MINUTE, "time": at_ms})
    assert fired.status_code == 200, fired.text


def create(admin: httpx.Client, model: str, version: str, **body) -> httpx.Response:
    return admin.post("/admin/rollouts",
                      json={"firmware_version": version, "model": model, **body})  # fmt: skip


@pytest.mark.parametrize(
    ("policy", "field"),
    [
        ({"install": "window"}, "policy"),
        ({"window": {"start": "25:00", "end": "03:00"}}, "policy.window.start"),
        ({"rate": {"max_per_minute": 0}}, "policy.rate.max_per_minute"),
        ({"rate": {"max_per_minute": 5, "ramp": {"base_per_minute": 9}}}, "policy.rate"),
        ({"jitter_s": 3601}, "policy.jitter_s"),
        ({"start_at": "2026-12-01T02:00:00"}, "policy"),
        ({"health": {"silence_minutes": 0}}, "policy.health.silence_minutes"),
        ({"surprise": 1}, "policy.surprise"),
    ],
)
def test_a_bad_policy_is_a_clear_4xx(admin, policy: dict, field: str) -> None:
    response = create(admin, model_name(), "1.0.1", policy=policy)
    assert response.status_code in (400, 422), response.text
    error = response.json()
    assert {"error", "message", "request_id"} <= set(error)
    assert field.split(".")[0] in json.dumps(error)


def test_a_bad_cohort_query_is_400_and_writes_nothing(admin) -> None:
    model = model_name()
    upload(admin, model, "1.0.1")
    response = create(admin, model, "1.0.1", cohort="version < and")
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "invalid_query"
    assert create(admin, model, "1.0.1", cohort="online", policy=NO_SOAK).status_code == 201


def test_a_dynamic_cohort_takes_in_devices_that_come_to_match(
    admin, webhook, telemetry, enroll
) -> None:
    model = model_name()
    upload(admin, model, "2.0.0")
    berlin = [enroll(model=model)["device_id"] for _ in range(2)]
    paris, later = (enroll(model=model)["device_id"] for _ in range(2))
    for d in berlin:
        state(webhook, d, tags={"site": "berlin"})  # reported by the device
    state(webhook, paris, tags={"site": "paris"})
    state(webhook, later)
    found = admin.get("/admin/devices", params={"q": "tag:site = berlin"}).json()["devices"]
    assert {d["device_id"] for d in found} >= set(berlin)
    created = create(admin, model, "2.0.0", cohort="tag:site = berlin", policy=NO_SOAK)
    assert created.status_code == 201, created.text
    rollout = created.json()
    rid = rollout["rollout_id"]
    # Not connected to the broker: the triggers could not be delivered, so they wait.
    assert rollout["counts"] == {"pending": 2}
    assert rollout["cohort"] == {"query": "tag:site = berlin", "percent": 100.0,
                                 "dynamic": True, "joined_after_start": 0}  # fmt: skip
    tagged = admin.put(f"/admin/devices/{later}/tags", json={"set": {"site": "berlin"}})
    assert tagged.status_code == 200, tagged.text
    cron(telemetry, int(time.time() * 1000) + 5 * 60_000)  # the next minute's pass
    shown = admin.get(f"/admin/rollouts/{rid}").json()
    assert shown["counts"] == {"pending": 3}
    assert shown["cohort"]["joined_after_start"] == 1
    rows = admin.get(f"/admin/rollouts/{rid}/devices").json()["devices"]
    assert {r["device_id"]: r["joined_late"] for r in rows} == {
        berlin[0]: False, berlin[1]: False, later: True
    }  # fmt: skip
    assert paris not in {r["device_id"] for r in rows}


def test_an_admin_tag_wins_over_the_devices_report(admin, webhook, enroll) -> None:
    me = enroll()["device_id"]
    assert admin.put(f"/admin/devices/{me}/tags", json={"set": {"site": "hq"}}).status_code == 200
    state(webhook, me, tags={"site": "attic", "floor": "2"})
    tags = admin.get(f"/admin/devices/{me}").json()["tags"]
    assert tags == {"site": "hq", "floor": "2"}
    state(webhook, me, tags={})  # the device stops reporting: its own tags go, the admin's stay
    assert admin.get(f"/admin/devices/{me}").json()["tags"] == {"site": "hq"}


def test_a_scheduled_rollout_starts_at_its_time(admin, webhook, telemetry, enroll) -> None:
    model = model_name()
    upload(admin, model, "2.0.0")
    me = enroll(model=model)["device_id"]
    state(webhook, me)
    start_ms = int(time.time() * 1000) + 3_600_000
    start_at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(start_ms / 1000))
    created = create(admin, model, "2.0.0", policy={"start_at": start_at, **NO_SOAK}).json()
    assert created["scheduled"] is True and created["counts"] == {}
    cron(telemetry, start_ms - 60_000)
    assert admin.get(f"/admin/rollouts/{created['rollout_id']}").json()["counts"] == {}
    cron(telemetry, start_ms + 60_000)
    shown = admin.get(f"/admin/rollouts/{created['rollout_id']}").json()
    assert shown["counts"] == {"pending": 1}


def test_the_owner_sets_the_devices_time_zone(as_user, enroll, webhook) -> None:
    device = enroll()
    me, owner = device["device_id"], as_user("tz-owner-" + uuid.uuid4().hex[:6])
    body = {"device_id": me, "claim_code": claim_code(device["device_secret"])}
    assert owner.post("/api/devices/claim", json=body).status_code == 201
    state(webhook, me, utc_offset_min=-300)
    answer = owner.put(f"/api/devices/{me}/timezone", json={"utc_offset_min": 60})
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"device_id": me, "utc_offset_min": 60, "reported_utc_offset_min": -300}
    bad = owner.put(f"/api/devices/{me}/timezone", json={"utc_offset_min": 2000})
    assert bad.status_code in (400, 422) and "request_id" in bad.json()
    stranger = as_user("tz-stranger-" + uuid.uuid4().hex[:6])
    assert (
        stranger.put(f"/api/devices/{me}/timezone", json={"utc_offset_min": 0}).status_code == 404
    )


def test_releases_carry_a_security_version(admin) -> None:
    model = model_name()
    assert upload(admin, model, "1.0.0", security_version=3)["security_version"] == 3
    listed = admin.get("/admin/firmware").json()["firmware"]
    assert {"model": model, "version": "1.0.0", "security_version": 3}.items() <= next(
        f for f in listed if f["model"] == model
    ).items()
