"""Every error, from any layer (the host, the router, the size check, a handler), is the JSON
contract {"error", "message", "request_id", "timestamp"} with the same X-Request-Id header."""

import httpx
import pytest

from rs1.http.limits import JSON_BODY, TELEMETRY_BATCH_BODY, WEBHOOK_BODY

WORKERS = ("device_api", "ota", "telemetry")


def assert_contract(response: httpx.Response, status: int, error: str) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"] == error and body["message"] and body["timestamp"]
    assert body["request_id"] and body["request_id"] == response.headers["x-request-id"]
    return body


@pytest.mark.parametrize("worker", WORKERS)
@pytest.mark.parametrize("method", ["TRACE", "TRACK", "QUERY", "PROPFIND"])
def test_methods_nobody_serves_get_the_contract(system, worker: str, method: str) -> None:
    with system.client(worker) as client:
        response = client.request(method, "/health")
    assert_contract(response, 405, "method_not_allowed")


def test_a_callers_request_id_comes_back_from_the_host_too(device_api) -> None:
    response = device_api.request("TRACE", "/health", headers={"x-request-id": "edge-1"})
    assert assert_contract(response, 405, "method_not_allowed")["request_id"] == "edge-1"


@pytest.mark.parametrize(
    "path,limit,size",
    [
        ("/webhook/mqtt-auth", WEBHOOK_BODY, 1_000_000),
        ("/webhook/mqtt-auth", WEBHOOK_BODY, 10_000_000),
        ("/webhook/device-state", WEBHOOK_BODY, WEBHOOK_BODY + 1),
        ("/webhook/telemetry", TELEMETRY_BATCH_BODY, TELEMETRY_BATCH_BODY + 1),
        ("/webhook/telemetry", TELEMETRY_BATCH_BODY, 10_000_000),
    ],
)
def test_oversized_webhook_bodies_are_413(webhook, path: str, limit: int, size: int) -> None:
    response = webhook.post(path, content=b"[" + b"0" * (size - 2) + b"]")
    body = assert_contract(response, 413, "payload_too_large")
    assert f"at most {limit}" in body["message"]


def test_oversized_api_bodies_are_413_before_auth(device_api) -> None:
    """No token either: the size is refused before anything reads the body."""
    zones = b'{"zones": [' + b" " * JSON_BODY + b"]}"
    response = device_api.put(f"/api/devices/{'0' * 32}/zones", content=zones)
    assert_contract(response, 413, "payload_too_large")


def test_a_body_at_the_limit_is_read(webhook) -> None:
    """Just under the limit is parsed as usual (here: refused as JSON, not for its size)."""
    response = webhook.post("/webhook/mqtt-auth", content=b" " * (WEBHOOK_BODY - 2) + b"{}")
    assert response.status_code != 413
