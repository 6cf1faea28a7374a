"""The part of EMQX 5's HTTP API the Workers use, with EMQX's reply shapes.

POST /api/v5/publish          200 {"id"} | 202 {"reason_code": 16, ...} | 400 | 401
POST /api/v5/publish/bulk     list in, list out; 200 all delivered, 202 some not
DELETE /api/v5/clients/{id}   204 | 404 {"code": "CLIENTID_NOT_FOUND"}
GET /api/v5/actions/{id}/metrics, /api/v5/rules/{id}/metrics, /api/v5/metrics (metrics_view.py)
GET /status                   liveness, no auth (like EMQX's /status)
Every /api/v5 call needs HTTP Basic auth with an API key.
"""

import base64
import binascii
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from rs1broker.api_keys import ApiKeys
from rs1broker.broker import CompatBroker
from rs1broker.client_info import new_message_id
from rs1broker.metrics_view import MetricsView
from rs1broker.topics import is_topic_name

MAX_PAYLOAD = 1024 * 1024  # EMQX's default mqtt.max_packet_size
NO_SUBSCRIBERS = {"reason_code": 16, "message": "no_matching_subscribers"}
PUBLISH_PATHS = ("/api/v5/publish", "/api/v5/publish/bulk")
BROKER_KEY: web.AppKey[CompatBroker] = web.AppKey("broker", CompatBroker)
KEYS_KEY: web.AppKey[ApiKeys] = web.AppKey("keys", ApiKeys)
NODE_KEY: web.AppKey[str] = web.AppKey("node", str)
METRICS_KEY: web.AppKey[Callable[[], MetricsView]] = web.AppKey("metrics")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class BadRequest(ValueError):
    pass


@dataclass(frozen=True)
class PublishRequest:
    topic: str
    payload: bytes
    qos: int
    retain: bool


def _error(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"code": code, "message": message}, status=status)


def _payload(item: dict[str, Any]) -> bytes:
    payload = item.get("payload")
    if not isinstance(payload, str):
        raise BadRequest("payload must be a string")
    encoding = item.get("payload_encoding", "plain")
    if encoding == "plain":
        data = payload.encode()
    elif encoding == "base64":
        try:
            data = base64.b64decode(payload, validate=True)
        except binascii.Error:
            raise BadRequest("payload is not valid base64") from None
    else:
        raise BadRequest("payload_encoding must be plain or base64")
    if len(data) > MAX_PAYLOAD:
        raise BadRequest("payload too large")
    return data


def parse_publish(item: Any) -> PublishRequest:
    if not isinstance(item, dict):
        raise BadRequest("a message must be a JSON object")
    topic = item.get("topic")
    if not isinstance(topic, str) or not is_topic_name(topic):
        raise BadRequest(f"invalid topic {topic!r}: a topic name without wildcards is required")
    qos = item.get("qos", 0)
    if isinstance(qos, bool) or qos not in (0, 1, 2):
        raise BadRequest("qos must be 0, 1 or 2")
    retain = item.get("retain", False)
    if not isinstance(retain, bool):
        raise BadRequest("retain must be a boolean")
    if not isinstance(item.get("properties", {}), dict):
        raise BadRequest("properties must be an object")
    return PublishRequest(topic, _payload(item), qos, retain)


async def _json_body(request: web.Request) -> Any:
    try:
        return json.loads(await request.read())
    except ValueError:
        raise BadRequest("the body is not JSON") from None


async def _publish_one(broker: CompatBroker, message: PublishRequest) -> dict[str, Any]:
    delivered = await broker.publish_from_api(
        message.topic, message.payload, message.qos, message.retain
    )
    return {"id": new_message_id()} if delivered else dict(NO_SUBSCRIBERS)


async def publish(request: web.Request) -> web.Response:
    try:
        message = parse_publish(await _json_body(request))
    except BadRequest as exc:
        return _error(400, "BAD_REQUEST", str(exc))
    reply = await _publish_one(request.app[BROKER_KEY], message)
    return web.json_response(reply, status=200 if "id" in reply else 202)


async def publish_bulk(request: web.Request) -> web.Response:
    try:
        body = await _json_body(request)
        if not isinstance(body, list) or not body:
            raise BadRequest("the body must be a non-empty JSON array")
        messages = [parse_publish(item) for item in body]
    except BadRequest as exc:
        return _error(400, "BAD_REQUEST", str(exc))
    replies = [await _publish_one(request.app[BROKER_KEY], m) for m in messages]
    all_delivered = all("id" in r for r in replies)
    return web.json_response(replies, status=200 if all_delivered else 202)


async def kick_client(request: web.Request) -> web.Response:
    if await request.app[BROKER_KEY].kick(request.match_info["clientid"]):
        return web.Response(status=204)
    return _error(404, "CLIENTID_NOT_FOUND", "Client ID not found")


async def action_metrics(request: web.Request) -> web.Response:
    found = request.app[METRICS_KEY]().action(request.match_info["id"])
    if found is None:
        return _error(404, "NOT_FOUND", "Action not found")
    return web.json_response(found)


async def rule_metrics(request: web.Request) -> web.Response:
    found = request.app[METRICS_KEY]().rule(request.match_info["id"])
    if found is None:
        return _error(404, "NOT_FOUND", "Rule Id Not Found")
    return web.json_response(found)


async def node_metrics(request: web.Request) -> web.Response:
    counters = request.app[METRICS_KEY]().node()
    if request.query.get("aggregate") == "true":
        return web.json_response(counters)
    return web.json_response([{"node": request.app[NODE_KEY], **counters}])


async def status(request: web.Request) -> web.Response:
    node = request.app[NODE_KEY]
    text = f"Node {node} is started\nrs1broker (EMQX-compatible local broker) is running\n"
    return web.Response(text=text)


def _basic_credentials(header: str) -> tuple[str, str] | None:
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    key, sep, secret = decoded.partition(":")
    return (key, secret) if sep else None


def _permitted(role: str, method: str, path: str) -> bool:
    if role == "administrator":
        return True
    if role == "viewer":
        return method == "GET"
    return method == "POST" and path in PUBLISH_PATHS  # publisher


@web.middleware
async def require_api_key(request: web.Request, handler: Handler) -> web.StreamResponse:
    if not request.path.startswith("/api/"):
        return await handler(request)
    credentials = _basic_credentials(request.headers.get("Authorization", ""))
    role = request.app[KEYS_KEY].role_of(*credentials) if credentials else None
    if role is None:
        return _error(401, "BAD_API_KEY_OR_SECRET", "Check api_key/api_secret")
    if not _permitted(role, request.method, request.path):
        return _error(403, "FORBIDDEN", f"the {role} role may not do this")
    return await handler(request)


def build_app(
    broker: CompatBroker, keys: ApiKeys, node: str, metrics: Callable[[], MetricsView]
) -> web.Application:
    app = web.Application(middlewares=[require_api_key])
    app[BROKER_KEY] = broker
    app[KEYS_KEY] = keys
    app[NODE_KEY] = node
    app[METRICS_KEY] = metrics
    app.router.add_post("/api/v5/publish", publish)
    app.router.add_post("/api/v5/publish/bulk", publish_bulk)
    app.router.add_delete("/api/v5/clients/{clientid}", kick_client)
    app.router.add_get("/api/v5/actions/{id}/metrics", action_metrics)
    app.router.add_get("/api/v5/rules/{id}/metrics", rule_metrics)
    app.router.add_get("/api/v5/metrics", node_metrics)
    app.router.add_get("/status", status)
    return app


class ApiServer:
    def __init__(self, app: web.Application) -> None:
        self._runner = web.AppRunner(app, access_log=None)

    async def start(self, host: str, port: int) -> int:
        """Serve on host:port; returns the bound port (port 0 picks a free one)."""
        await self._runner.setup()
        await web.TCPSite(self._runner, host, port).start()
        return int(self._runner.addresses[0][1])

    async def stop(self) -> None:
        await self._runner.cleanup()
