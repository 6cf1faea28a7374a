"""Values D1 cannot bind never reach it: workerd's D1 refuses a JS BigInt (Pyodide's form of a
Python int beyond 2**53) with D1_TYPE_ERROR. Inputs that would produce one are a 4xx, never a
5xx (a 503 would make EMQX retry a message that can never succeed)."""

import base64
import json
import time
import uuid

import pytest
from rs1contract.topics import device_topic

from helpers import envelope

HUGE = 2**60


def test_a_huge_envelope_timestamp_is_a_400(webhook, enroll) -> None:
    me = enroll()["device_id"]
    body = envelope(me, uuid.uuid4().hex)
    body["publish_received_at"] = body["timestamp"] = HUGE
    response = webhook.post("/webhook/telemetry", json=body)
    assert response.status_code == 400, response.text


@pytest.mark.parametrize("field", ["timestamp", "connected_at"])
def test_a_huge_client_event_time_is_a_400(webhook, enroll, field: str) -> None:
    me = enroll()["device_id"]
    event = {"clientid": me, "username": me, "timestamp": int(time.time() * 1000), field: HUGE}
    assert webhook.post("/webhook/device-connected", json=event).status_code == 400


def test_a_huge_config_version_is_a_400(webhook, enroll) -> None:
    me = enroll()["device_id"]
    now = int(time.time() * 1000)
    body = {"clientid": me, "username": me, "topic": device_topic(me, "config", "status"),
            "payload": json.dumps({"version": HUGE, "status": "applied"}),
            "timestamp": now, "publish_received_at": now}  # fmt: skip
    assert webhook.post("/webhook/config-status", json=body).status_code == 400


@pytest.mark.parametrize("cursor", [[HUGE, ""], [-HUGE, "x"], [1, "x" * 65]])
def test_a_forged_cursor_is_a_400(admin, enroll, cursor) -> None:
    me = enroll()["device_id"]
    raw = base64.urlsafe_b64encode(json.dumps(cursor).encode()).decode()
    response = admin.get(f"/api/devices/{me}/telemetry", params={"from": 0, "cursor": raw})
    assert response.status_code == 400, response.text


@pytest.mark.parametrize("version", [str(10**30), "²", "١٢"])
def test_a_huge_or_unusual_if_match_is_a_400(admin, enroll, version: str) -> None:
    me = enroll()["device_id"]
    response = admin.put(
        f"/api/devices/{me}/zones", json={"zones": []}, headers={"if-match": version.encode()}
    )
    assert response.status_code == 400, response.text
