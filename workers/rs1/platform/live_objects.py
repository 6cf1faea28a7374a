"""Runtime glue for live targets: the port to the devices' DeviceTargets Durable Objects
(binding LIVE_TARGETS) and the object's own work (WebSocketPair, the hibernation API,
Response(web_socket=...)). The logic is runtime-free in rs1.live; this only touches the runtime.
"""

import json
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from js import WebSocketPair
from workers import Response

from rs1.http.errors import ApiError
from rs1.live.frames import valid_frames
from rs1.live.protocol import (
    CONNECT_URL,
    DEVICE_HEADER,
    PROTOCOL_HEADER,
    PUBLISH_URL,
    WATCHER_HEADER,
    is_websocket_upgrade,
)
from rs1.live.room import Room
from rs1.live.watchers import sweep
from rs1.logs import log_event
from rs1.messages import ApiResponse, RuntimeResponse
from rs1.platform.d1 import RawD1
from rs1.ports import Watcher
from rs1.services import services_from_env

_OPEN = 1  # WebSocket.OPEN


def _close_code(code: int) -> int:
    """Echo the client's close code when it may be sent (1005/1006 and others may not)."""
    sendable = code in (1000, 1001, 1002, 1003) or 1007 <= code <= 1014 or 3000 <= code <= 4999
    return code if sendable else 1000


class DurableLiveTargets:
    """rs1.ports.LiveTargets over the LIVE_TARGETS namespace: one object per device."""

    def __init__(self, namespace: Any) -> None:
        self._namespace = namespace

    def _stub(self, device_id: str) -> Any:
        return self._namespace.get(self._namespace.idFromName(device_id))

    async def connect(self, device_id: str, protocol: str | None, watcher: Watcher) -> ApiResponse:
        headers = {
            "upgrade": "websocket",
            DEVICE_HEADER: device_id,
            WATCHER_HEADER: watcher.encode(),
        }
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


class _Socket:
    """rs1.live.watchers.WatchedSocket over a hibernatable WebSocket: the watcher is the
    socket's attachment (it survives the object's eviction)."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws

    def watcher(self) -> Watcher | None:
        return Watcher.decode(self.ws.deserializeAttachment())

    def remember(self, watcher: Watcher) -> None:
        self.ws.serializeAttachment(watcher.encode())

    def close(self, code: int, reason: str) -> None:
        try:
            self.ws.close(code, reason)
        except Exception as exc:  # noqa: BLE001 — closing under us
            log_event("debug", "live_close_ignored", error=repr(exc))


class TargetsObject:
    """The DeviceTargets Durable Object's work: accept watchers with the hibernation API
    (the object may be evicted while sockets stay open; each socket carries its watcher as its
    attachment), re-check them while frames flow, and broadcast published frames. The logic
    is rs1.live.room.Room and rs1.live.watchers."""

    def __init__(self, ctx: Any, env: Any) -> None:
        self.ctx = ctx
        self.svc = services_from_env(env, None, lambda task: ctx.waitUntil(task), RawD1)
        cache = self.svc.kv.get("RS1_CACHE")
        self.room = Room(cache, self._open_sockets)

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
            watcher = Watcher.decode(headers.get(WATCHER_HEADER))
            if watcher is None or watcher.device_id != device_id:
                return Response.from_json({"error": "bad_request"}, status=400)
            return await self._connect(watcher, headers.get(PROTOCOL_HEADER))
        if path == urlsplit(PUBLISH_URL).path and str(request.method).upper() == "POST":
            frames = valid_frames(json.loads(await request.text()), device_id)
            sockets = [_Socket(ws) for ws in self._open_sockets()]
            await sweep(self.svc, sockets, self.svc.clock(), self.svc.settings.live_recheck_s)
            sent = await self.room.publish(device_id, frames)
            return Response.from_json({"sent": sent})
        return Response.from_json({"error": "not_found"}, status=404)

    async def _connect(self, watcher: Watcher, protocol: str | None) -> Response:
        client, server = WebSocketPair.new().object_values()
        self.ctx.acceptWebSocket(server)
        _Socket(server).remember(watcher)
        server.send(self.room.greeting(watcher.device_id))  # the first frame, before any await
        await self.room.joined(watcher.device_id)
        headers = {"sec-websocket-protocol": protocol} if protocol else None
        return Response(None, status=101, headers=headers, web_socket=client)

    async def message(self, ws: Any, message: Any) -> None:
        """Watchers only listen; a text `ping` gets a `pong` (an application keep-alive)."""
        if message == "ping":
            ws.send(json.dumps({"type": "pong"}))

    async def closed(self, ws: Any, code: int, reason: str) -> None:
        watcher = _Socket(ws).watcher()
        _Socket(ws).close(_close_code(code), str(reason or "")[:120])
        if watcher is not None:
            await self.room.left(watcher.device_id, self._open_sockets(excluding=ws))
