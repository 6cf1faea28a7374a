"""Glue between the Workers runtime (workers SDK, Pyodide) and the runtime-free `rs1` app.

Entry modules call `serve` / `run_scheduled`; nothing else in `rs1` touches the runtime.
The live-targets Durable Object (`DeviceTargets` in device_api_worker.py) delegates to
`TargetsObject` here: WebSocketPair, the hibernation API and Response(web_socket=...).
"""

import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from js import WebSocketPair
from workers import Response, fetch

from rs1.http.app import App, request_id_for
from rs1.http.errors import ApiError
from rs1.http.messages import ApiRequest, ApiResponse
from rs1.live.frames import valid_frames
from rs1.live.protocol import (
    CONNECT_URL,
    DEVICE_HEADER,
    PROTOCOL_HEADER,
    PUBLISH_URL,
    is_websocket_upgrade,
)
from rs1.live.room import Room
from rs1.logs import log_event
from rs1.services import HttpResult, Services, services_from_env
from rs1.storage.kv import KvStore

_NO_BODY_STATUSES = {101, 204, 205, 304}


class WorkersHttp:
    """Outbound HTTP through the runtime's fetch (EMQX API, alert webhooks)."""

    async def request(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes | None = None
    ) -> HttpResult:
        kwargs: dict[str, Any] = {"method": method, "headers": dict(headers)}
        if body is not None:
            kwargs["body"] = body
        response = await fetch(url, **kwargs)
        return HttpResult(response.status, bytes(await response.bytes()))


async def to_api_request(request: Any) -> ApiRequest:
    url = urlsplit(str(request.url))
    headers = {k.lower(): v for k, v in request.headers.items()}
    # The SDK's Request.method is an HTTPMethod enum that raises KeyError for methods it does
    # not list (QUERY, PROPFIND, ...); the raw JS string lets the router answer 405 instead.
    method = str(getattr(request, "js_object", request).method).upper()
    body = b"" if method in ("GET", "HEAD") else bytes(await request.bytes())
    return ApiRequest(
        method=method,
        path=url.path,
        query_string=url.query,
        headers=headers,
        body=body,
        client_ip=headers.get("cf-connecting-ip", ""),
        request_id=request_id_for(headers),
    )


class RuntimeResponse(ApiResponse):
    """A runtime Response passed through untouched (a 101 carrying a WebSocket)."""

    def __init__(self, runtime: Any) -> None:
        super().__init__(status=int(runtime.status))
        self.runtime = runtime


def to_worker_response(response: ApiResponse) -> Response:
    if isinstance(response, RuntimeResponse):
        return response.runtime
    # An R2 body arrives wrapped by the SDK's binding wrapper; Response wants the JS stream.
    stream = getattr(response.stream, "_binding", response.stream)
    body: Any = stream if stream is not None else response.body
    if response.status in _NO_BODY_STATUSES or body == b"":
        body = None
    return Response(body, status=response.status, headers=response.headers)


def _defer(ctx: Any) -> Callable[[Awaitable[Any]], None]:
    return lambda awaitable: ctx.waitUntil(awaitable)


def make_services(env: Any, ctx: Any) -> Services:
    svc = services_from_env(env, WorkersHttp(), _defer(ctx))
    namespace = getattr(env, "LIVE_TARGETS", None)
    if namespace is not None:
        svc.live = DurableLiveTargets(namespace)
    return svc


async def serve(app: App, request: Any, env: Any, ctx: Any) -> Response:
    api_request = await to_api_request(request)
    return to_worker_response(await app.handle(api_request, make_services(env, ctx)))


# -- live targets: the port to the devices' Durable Objects, and the object's glue ----------

_OPEN = 1  # WebSocket.OPEN


def _close_code(code: int) -> int:
    """Echo the client's close code when it may be sent (1005/1006 and others may not)."""
    sendable = code in (1000, 1001, 1002, 1003) or 1007 <= code <= 1014 or 3000 <= code <= 4999
    return code if sendable else 1000


class DurableLiveTargets:
    """rs1.live.ports.LiveTargets over the LIVE_TARGETS namespace: one object per device."""

    def __init__(self, namespace: Any) -> None:
        self._namespace = namespace

    def _stub(self, device_id: str) -> Any:
        return self._namespace.get(self._namespace.idFromName(device_id))

    async def connect(self, device_id: str, protocol: str | None) -> ApiResponse:
        headers = {"upgrade": "websocket", DEVICE_HEADER: device_id}
        if protocol:
            headers[PROTOCOL_HEADER] = protocol
        response = await self._stub(device_id).fetch(CONNECT_URL, headers=headers)
        if response.status == 101:
            return RuntimeResponse(response)
        raise ApiError(502, "live_unavailable", f"The live view answered {response.status}.")

    async def publish(self, device_id: str, frames: Sequence[Mapping[str, Any]]) -> None:
        body = json.dumps({"device_id": device_id, "frames": list(frames)})
        response = await self._stub(device_id).fetch(
            PUBLISH_URL,
            method="POST",
            headers={"content-type": "application/json", DEVICE_HEADER: device_id},
            body=body,
        )
        await response.text()
        if response.status != 200:
            raise RuntimeError(f"live publish answered {response.status}")


class TargetsObject:
    """The DeviceTargets Durable Object's work: accept watchers with the hibernation API
    (the object may be evicted while sockets stay open; each socket carries its device id as
    its attachment) and broadcast published frames. The logic is rs1.live.room.Room."""

    def __init__(self, ctx: Any, env: Any) -> None:
        self.ctx = ctx
        cache = getattr(env, "RS1_CACHE", None)
        self.room = Room(KvStore(cache) if cache is not None else None, self._open_sockets)

    def _open_sockets(self, excluding: Any = None) -> list[Any]:
        return [
            ws
            for ws in self.ctx.getWebSockets()
            if ws.readyState == _OPEN and (excluding is None or ws != excluding)
        ]

    async def fetch(self, request: Any) -> Response:
        path = urlsplit(str(request.url)).path
        device_id = request.headers.get(DEVICE_HEADER) or ""
        if not device_id:
            return Response.from_json({"error": "bad_request"}, status=400)
        if path == urlsplit(CONNECT_URL).path:
            headers = {k.lower(): v for k, v in request.headers.items()}
            if not is_websocket_upgrade(str(request.method).upper(), headers):
                return Response.from_json({"error": "upgrade_required"}, status=426)
            return await self._connect(device_id, headers.get(PROTOCOL_HEADER))
        if path == urlsplit(PUBLISH_URL).path and str(request.method).upper() == "POST":
            frames = valid_frames(json.loads(await request.text()), device_id)
            sent = await self.room.publish(device_id, frames)
            return Response.from_json({"sent": sent})
        return Response.from_json({"error": "not_found"}, status=404)

    async def _connect(self, device_id: str, protocol: str | None) -> Response:
        client, server = WebSocketPair.new().object_values()
        self.ctx.acceptWebSocket(server)
        server.serializeAttachment(device_id)
        server.send(await self.room.joined(device_id))
        headers = {"sec-websocket-protocol": protocol} if protocol else None
        return Response(None, status=101, headers=headers, web_socket=client)

    async def message(self, ws: Any, message: Any) -> None:
        """Watchers only listen; a text `ping` gets a `pong` (an application keep-alive)."""
        if message == "ping":
            ws.send(json.dumps({"type": "pong"}))

    async def closed(self, ws: Any, code: int, reason: str) -> None:
        device_id = ws.deserializeAttachment()
        try:
            ws.close(_close_code(code), str(reason or "")[:120])
        except Exception as exc:  # noqa: BLE001 — already closed
            log_event("debug", "live_close_ignored", error=repr(exc))
        if isinstance(device_id, str) and device_id:
            await self.room.left(device_id, self._open_sockets(excluding=ws))
