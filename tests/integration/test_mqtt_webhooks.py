"""EMQX HTTP authn/authz and presence webhooks, driven over HTTP with EMQX-shaped bodies."""

import time

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rs1contract.topics import device_topic

from rs1.identity.keys import hour_of, mqtt_password


def password(device: dict, hour_offset: int = 0) -> str:
    hour = hour_of(time.time()) + hour_offset
    return mqtt_password(device["device_secret"], device["device_id"], hour)


def auth(webhook: httpx.Client, device_id: str, pw: str, peer: str = "192.0.2.10") -> dict:
    body = {"username": device_id, "password": pw, "clientid": device_id, "peerhost": peer}
    response = webhook.post("/webhook/mqtt-auth", json=body)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    return response.json()


def acl(webhook: httpx.Client, device_id: str, action: str, topic: str, **extra) -> str:
    body = {"username": device_id, "clientid": device_id, "action": action, "topic": topic}
    response = webhook.post("/webhook/mqtt-acl", json={**body, **extra})
    assert response.status_code == 200, response.text
    return response.json()["result"]


def test_auth_allows_current_and_previous_hour_only(webhook, enroll) -> None:
    device = enroll()
    assert auth(webhook, device["device_id"], password(device)) == {
        "result": "allow",
        "is_superuser": False,
    }
    assert auth(webhook, device["device_id"], password(device, -1))["result"] == "allow"
    assert auth(webhook, device["device_id"], password(device, -2))["result"] == "deny"


def test_wrong_webhook_secret_is_401(telemetry: httpx.Client) -> None:
    for headers in ({}, {"x-webhook-secret": "nope"}):
        response = telemetry.post("/webhook/mqtt-auth", json={}, headers=headers)
        assert response.status_code == 401
        assert response.json()["error"] == "unauthorized"


def test_acl_over_http(webhook, enroll) -> None:
    me = enroll()["device_id"]
    assert acl(webhook, me, "publish", device_topic(me, "telemetry", "targets"), qos="1") == "allow"
    assert (
        acl(webhook, me, "subscribe", device_topic(me, "ota", "trigger"), retain="false") == "allow"
    )
    assert acl(webhook, me, "subscribe", device_topic(me, "#")) == "deny"
    assert acl(webhook, me, "publish", device_topic("f" * 32, "state")) == "deny"


def test_revocation_denies_auth_and_acl(admin, webhook, enroll) -> None:
    device = enroll()
    me = device["device_id"]
    response = admin.post(f"/admin/devices/{me}/revoke")
    assert response.status_code == 200 and response.json()["status"] == "revoked"
    assert auth(webhook, me, password(device))["result"] == "deny"
    assert acl(webhook, me, "publish", device_topic(me, "state")) == "deny"
    assert admin.post(f"/admin/devices/{me}/enable").json()["status"] == "active"
    assert auth(webhook, me, password(device))["result"] == "allow"


def envelope(device_id: str, payload: str, ts: int) -> dict:
    return {
        "id": f"msg-{ts}",
        "clientid": device_id,
        "username": device_id,
        "topic": device_topic(device_id, "state"),
        "payload": payload,
        "qos": 1,
        "flags": {"retain": False, "dup": False},
        "timestamp": ts,
        "publish_received_at": ts,
        "event": "message.publish",
        "node": "emqx@127.0.0.1",
    }


def test_presence_converges_with_stale_and_duplicate_events(admin, webhook, enroll) -> None:
    me = enroll()["device_id"]
    t = int(time.time() * 1000)
    state = '{"online": true, "firmware_version": "1.2.3", "rssi": -60}'
    events = [
        (
            "/webhook/device-connected",
            {"clientid": me, "username": me, "connected_at": t, "timestamp": t},
        ),
        ("/webhook/device-state", envelope(me, state, t + 5)),
        (
            "/webhook/device-connected",
            {"clientid": me, "username": me, "connected_at": t + 100, "timestamp": t + 100},
        ),
    ]
    stale = {"clientid": me, "username": me, "disconnected_at": t + 50, "timestamp": t + 50}
    stale["reason"] = "keepalive_timeout"
    events += [("/webhook/device-offline", stale)] * 2  # the first session's, late and twice
    for path, body in events:
        assert webhook.post(path, json=body).status_code == 200, path
    device = admin.get(f"/admin/devices/{me}").json()
    assert device["online"] is True and device["firmware_version"] == "1.2.3"
    gone = {
        "clientid": me,
        "username": me,
        "disconnected_at": t + 200,
        "reason": "tcp_closed",
        "timestamp": t + 200,
    }
    assert webhook.post("/webhook/device-offline", json=gone).status_code == 200
    assert admin.get(f"/admin/devices/{me}").json()["online"] is False


def test_state_from_another_device_is_rejected(webhook, enroll) -> None:
    me, other = enroll()["device_id"], enroll()["device_id"]
    body = envelope(me, '{"online": true}', int(time.time() * 1000))
    body["username"] = body["clientid"] = other
    response = webhook.post("/webhook/device-state", json=body)
    assert response.status_code == 403


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=80),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=3)
    ),
    max_leaves=8,
)
auth_bodies = st.fixed_dictionaries(
    {},
    optional={
        k: json_values | st.text(max_size=300)
        for k in (
            "username",
            "password",
            "clientid",
            "peerhost",
            "topic",
            "action",
            "qos",
            "retain",
        )
    },
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=auth_bodies | json_values)
def test_fuzzed_bodies_get_allow_deny_or_4xx_never_5xx(webhook, body) -> None:
    for path in ("/webhook/mqtt-auth", "/webhook/mqtt-acl"):
        response = webhook.post(path, json=body)
        assert response.status_code < 500, (path, body, response.text)
        if response.status_code == 200:
            assert response.json()["result"] in ("allow", "deny")
        else:
            assert response.status_code in (400, 422) and response.json()["error"]


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(raw=st.binary(max_size=200))
def test_non_json_bodies_are_400(webhook, raw) -> None:
    response = webhook.post(
        "/webhook/mqtt-auth", content=raw, headers={"content-type": "application/json"}
    )
    assert response.status_code in (200, 400)
    if response.status_code == 200:  # the bytes happened to be a JSON object
        assert response.json()["result"] == "deny"
