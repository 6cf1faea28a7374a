"""Every error, from any layer (the host, the router, the size check, a handler), is the JSON
contract {"error", "message", "request_id", "timestamp"} with the same X-Request-Id header."""

import select
import socket
from urllib.parse import urlsplit

import h11
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
    if method == "TRACK" and system.state_dir is None:
        pytest.skip("an HTTP parser in front (the edge, a proxy) answers TRACK, not the Worker")
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
    response = post_like_curl(webhook, path, size)
    body = assert_contract(response, 413, "payload_too_large")
    assert f"at most {limit}" in body["message"]


def post_like_curl(client: httpx.Client, path: str, size: int) -> httpx.Response:
    """POST `size` bytes, reading the answer while still sending, as curl and EMQX's client do:
    a server that refuses from the Content-Length answers before reading the body (workerd
    does), and a client that insists on writing it all first would wait forever. (h11 frames
    the request and parses the answer.)"""
    url = urlsplit(str(client.base_url))
    conn = h11.Connection(h11.CLIENT)
    headers = [("host", url.netloc), ("content-length", str(size)), ("connection", "close")]
    headers += [(k, v) for k, v in client.headers.items() if k.startswith("x-")]
    with socket.create_connection((url.hostname, url.port), timeout=30) as sock:
        sock.sendall(conn.send(h11.Request(method="POST", target=path, headers=headers)))
        sent, chunk = 0, b"0" * 65536
        while sent < size and not select.select([sock], [], [], 0)[0]:
            try:
                sock.sendall(conn.send(h11.Data(data=chunk[: size - sent])))
            except (BrokenPipeError, ConnectionResetError):
                break  # the server closed after answering
            sent += min(len(chunk), size - sent)
        return _read_response(conn, sock)


def _read_response(conn: h11.Connection, sock: socket.socket) -> httpx.Response:
    status, headers, body = 0, [], b""
    while True:
        event = conn.next_event()
        if event is h11.NEED_DATA:
            conn.receive_data(sock.recv(65536))
        elif isinstance(event, h11.Response):
            status, headers = (
                event.status_code,
                [(k.decode(), v.decode()) for k, v in event.headers],
            )
        elif isinstance(event, h11.Data):
            body += event.data
        elif isinstance(event, h11.EndOfMessage | h11.ConnectionClosed):
            return httpx.Response(status, headers=headers, content=body)


def test_oversized_api_bodies_are_413_before_auth(device_api) -> None:
    """No token either: the size is refused before anything reads the body."""
    zones = b'{"zones": [' + b" " * JSON_BODY + b"]}"
    response = device_api.put(f"/api/devices/{'0' * 32}/zones", content=zones)
    assert_contract(response, 413, "payload_too_large")


def test_a_body_at_the_limit_is_read(webhook) -> None:
    """Just under the limit is parsed as usual (here: refused as JSON, not for its size)."""
    response = webhook.post("/webhook/mqtt-auth", content=b" " * (WEBHOOK_BODY - 2) + b"{}")
    assert response.status_code != 413
