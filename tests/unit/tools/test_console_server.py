"""The local console server's dev sign-in refuses what only another site or a rebound host
name would send, and bad input, before it asks the admin API for anything."""

import http.client
import json

import pytest

from rs1tools.console import ConsoleServer, csp, web_origins


@pytest.fixture
def console(tmp_path):
    (tmp_path / "index.html").write_text("<!doctype html><title>t</title>")
    # No API behind it: any request that got as far as the admin API would fail loudly.
    with ConsoleServer("http://127.0.0.1:9", "no-token", dist=tmp_path) as server:
        yield server


def post(server: ConsoleServer, body: bytes, headers: dict[str, str]) -> tuple[int, dict]:
    port = server.server.server_address[1]
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("POST", "/dev/sign-in", body=body, headers=headers)
    response = conn.getresponse()
    return response.status, json.loads(response.read())


def own(server: ConsoleServer, **extra: str) -> dict[str, str]:
    port = server.server.server_address[1]
    return {"host": f"127.0.0.1:{port}", "content-type": "application/json", **extra}


@pytest.mark.parametrize(
    ("body", "headers", "status", "code"),
    [
        (b'{"user": "a"}', {"content-type": "text/plain"}, 415, "unsupported_media_type"),
        (b'{"user": "a"}', {"host": "evil.example:80"}, 403, "forbidden_host"),
        (b"{nope", {}, 400, "invalid_json"),
        (b"[]", {}, 400, "invalid_json"),
        (b'{"user": "a b"}', {}, 400, "invalid_user"),
        (b'{"user": "a", "role": "root"}', {}, 400, "invalid_role"),
        (b'{"user": "a", "ttl_s": 10}', {}, 400, "invalid_ttl"),
        (b"x" * 5000, {}, 413, "payload_too_large"),
    ],
)
def test_the_dev_sign_in_refuses_with_a_clear_error(console, body, headers, status, code) -> None:
    got, answer = post(console, body, {**own(console), **headers})
    assert (got, answer["error"]) == (status, code), answer
    assert answer["message"] and answer["request_id"]


def test_config_points_at_the_api_and_pages_carry_the_csp(console) -> None:
    port = console.server.server_address[1]
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", "/config.json")
    response = conn.getresponse()
    assert json.loads(response.read()) == {"api": "http://127.0.0.1:9", "auth": "dev"}
    assert response.getheader("content-security-policy") == csp("http://127.0.0.1:9")
    assert "connect-src 'self' http://127.0.0.1:9 ws://127.0.0.1:9" in csp("http://127.0.0.1:9")
    assert web_origins(8790) == "https://app.optic.works,http://127.0.0.1:8790"
