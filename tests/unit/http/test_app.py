import asyncio
import json

from rs1.http.app import App, request_id_for
from rs1.http.errors import ApiError
from rs1.http.messages import ApiRequest, json_response
from rs1.http.router import Router


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
