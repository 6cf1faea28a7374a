import asyncio
import json

from rs1.http.app import App, request_id_for
from rs1.http.errors import ApiError
from rs1.http.router import Router
from rs1.messages import ApiRequest, json_response


def make_app() -> App:
    router = Router()

    async def ok(request, svc):
        return json_response({"ok": True})

    async def boom(request, svc):
        raise RuntimeError("secret internal detail")

    async def teapot(request, svc):
        raise ApiError(418, "teapot", "I am a teapot.", details={"field": "x"})

    async def echo(request, svc):
        return json_response(request.json())

    router.add("GET", "/ok", ok)
    router.add("GET", "/boom", boom)
    router.add("GET", "/teapot", teapot)
    router.add("POST", "/echo", echo)
    router.add("POST", "/big", echo, max_body=1_000)
    return App("test-worker", router)


def call(method: str, path: str, body: bytes = b"", request_id: str = "rid-1"):
    request = ApiRequest(method, path, body=body, request_id=request_id)
    return asyncio.run(make_app().handle(request, None))


def test_exception_becomes_json_500_without_traceback(capsys) -> None:
    response = call("GET", "/boom")
    body = json.loads(response.body)
    assert response.status == 500
    assert body["error"] == "internal_error"
    assert body["request_id"] == "rid-1"
    assert "secret internal detail" not in response.body.decode()
    assert "secret internal detail" in capsys.readouterr().err  # but it is logged


def test_every_error_has_the_one_shape() -> None:
    for path, status in (("/teapot", 418), ("/missing", 404)):
        response = call("GET", path)
        body = json.loads(response.body)
        assert response.status == status
        assert {"error", "message", "request_id", "timestamp"} <= body.keys()
        assert response.headers["content-type"] == "application/json"
        assert response.headers["x-request-id"] == "rid-1"


def test_invalid_json_is_a_400() -> None:
    response = call("POST", "/echo", b"{not json")
    assert response.status == 400
    assert json.loads(response.body)["error"] == "invalid_json"


def test_head_has_no_body() -> None:
    response = call("HEAD", "/ok")
    assert response.status == 200 and response.body == b""


def test_request_id_reuses_only_well_formed_ids() -> None:
    assert request_id_for({"x-request-id": "emqx-trace-42"}) == "emqx-trace-42"
    generated = request_id_for({"x-request-id": "bad id\n<script>"})
    assert generated != "bad id\n<script>" and len(generated) == 16


def test_bodies_over_the_route_limit_are_413_before_any_parsing() -> None:
    app = make_app()
    small = ApiRequest("POST", "/echo", body=b'{"a": 1}', request_id="r1")
    assert asyncio.run(app.handle(small, None)).status == 200
    # Over the default (JSON_BODY), even if it is not JSON at all: never parsed.
    big = ApiRequest("POST", "/echo", body=b"x" * (64 * 1024 + 1), request_id="r2")
    response = asyncio.run(app.handle(big, None))
    body = json.loads(response.body)
    assert response.status == 413 and body["error"] == "payload_too_large"
    assert body["request_id"] == "r2" == response.headers["x-request-id"]
    # A route's own limit; a declared length of a body the platform never read.
    routed = ApiRequest("POST", "/big", body=b"{}", body_length=1_001, request_id="r3")
    assert asyncio.run(app.handle(routed, None)).status == 413
    fits = ApiRequest("POST", "/big", body=b'{"b": "' + b"y" * 900 + b'"}', request_id="r4")
    assert asyncio.run(app.handle(fits, None)).status == 200


def test_body_limits_are_per_route_with_a_default() -> None:
    router = make_app().router
    assert router.body_limit("POST", "/big") == 1_000
    assert router.body_limit("POST", "/echo") == router.max_body == 64 * 1024
    assert router.body_limit("PUT", "/nowhere") == router.max_body


def test_the_emqx_facing_worker_answers_an_unexpected_failure_with_a_retryable_503() -> None:
    """EMQX drops a 500 for good and retries a 503 until request_ttl: a crash in a webhook
    (here: no services at all) must not lose the message."""
    from rs1.apps.telemetry import build_app

    for path in ("/webhook/telemetry", "/webhook/device-state", "/webhook/mqtt-acl"):
        request = ApiRequest("POST", path, body=b"{}", request_id="rid-9")
        response = asyncio.run(build_app().handle(request, None))
        assert response.status == 503, path
        assert json.loads(response.body)["error"] == "temporarily_unavailable"
        assert response.headers["retry-after"] == "1"
