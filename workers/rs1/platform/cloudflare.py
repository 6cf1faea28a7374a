"""Glue between the Workers runtime (workers SDK, Pyodide) and the runtime-free `rs1` app.

Entry modules call `serve` (fetch) and `make_services` (scheduled); only this package and
the entries touch the runtime. The live-targets Durable Object's glue is
rs1.platform.live_objects.
"""

from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import replace
from typing import Any
from urllib.parse import urlsplit

from js import Object
from js import Response as JsResponse
from pyodide.ffi import jsnull, to_js
from workers import fetch

from rs1.http.app import App, request_id_for
from rs1.messages import ApiRequest, ApiResponse, RuntimeResponse
from rs1.platform.d1 import RawD1
from rs1.platform.live_objects import DurableLiveTargets
from rs1.platform.queues import RawQueue, deliver
from rs1.services import HttpResult, Services, services_from_env
from rs1.telemetry.consumer import Delivery, Outcome
from rs1.telemetry.queue import BINDING as TELEMETRY_QUEUE

_NO_BODY_STATUSES = {101, 204, 205, 304}
QUEUE_BINDINGS = (TELEMETRY_QUEUE,)


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


class JsHeaders(Mapping[str, str]):
    """A request's headers, read from the JS Headers object when asked for.

    Converting every header into a dict costs one FFI crossing per header on every request
    (the SDK's `Request.headers` builds an HTTPMessage); routes read two or three. JS
    `Headers.get` is case-insensitive and joins repeated headers with ", ", as the dict did.
    """

    def __init__(self, js_headers: Any) -> None:
        self._js = js_headers

    def __getitem__(self, name: str) -> str:
        value = self._js.get(name)
        if value is None or value is jsnull:  # a missing header is JS null (jsnull, not None)
            raise KeyError(name)
        return str(value)

    def get(self, name: str, default: Any = None) -> Any:  # no KeyError for a missing header
        value = self._js.get(name)
        return default if value is None or value is jsnull else str(value)

    def __iter__(self) -> Iterator[str]:
        # keys(): iterating JS Headers itself yields [name, value] pairs.
        return iter([str(name) for name in self._js.keys()])  # noqa: SIM118

    def __len__(self) -> int:
        return len(list(self))


def _declared_length(headers: Mapping[str, str]) -> int | None:
    try:
        return int(headers["content-length"])
    except (KeyError, ValueError):
        return None


async def to_api_request(request: Any, body_limit: Callable[[str, str], int]) -> ApiRequest:
    # The JS Request itself: the SDK's wrapper converts headers and bodies eagerly.
    js_request = getattr(request, "js_object", request)
    url = urlsplit(str(js_request.url))
    headers = JsHeaders(js_request.headers)
    # The raw JS method string: the SDK's HTTPMethod enum raises KeyError for methods it does
    # not list (QUERY, PROPFIND, ...), and the router answers those 405.
    method = str(js_request.method).upper()
    declared = _declared_length(headers)
    # A body over the route's limit is never read: the app answers 413 from its length.
    oversized = declared is not None and declared > body_limit(method, url.path)
    skip = method in ("GET", "HEAD") or oversized
    body = b"" if skip else (await js_request.arrayBuffer()).to_bytes()
    return ApiRequest(
        body_length=declared if oversized else None,
        method=method,
        path=url.path,
        query_string=url.query,
        headers=headers,
        body=body,
        client_ip=headers.get("cf-connecting-ip", ""),
        request_id=request_id_for(headers),
    )


def to_worker_response(response: ApiResponse) -> Any:
    """A JS Response, built directly: the SDK's Response converts its arguments generically."""
    if isinstance(response, RuntimeResponse):
        return response.runtime
    # An R2 body arrives wrapped by the SDK's binding wrapper; Response wants the JS stream.
    stream = getattr(response.stream, "_binding", response.stream)
    body: Any = stream if stream is not None else to_js(response.body)
    if response.status in _NO_BODY_STATUSES or (response.body == b"" and stream is None):
        body = None
    init = {"status": response.status, "headers": response.headers}
    return JsResponse.new(body, to_js(init, dict_converter=Object.fromEntries))


def _defer(ctx: Any) -> Callable[[Awaitable[Any]], None]:
    return lambda awaitable: ctx.waitUntil(awaitable)


# One per isolate: a Worker's env (vars, secrets, bindings) is the same object for every
# request an isolate serves, so its Settings and binding wrappers are built once, not per
# request (reading ~20 vars across the FFI cost ~1 ms a request on workerd).
_isolate: dict[str, Services] = {}


def make_services(env: Any, ctx: Any) -> Services:
    base = _isolate.get("services")
    if base is None:
        # D1 past the SDK's generic conversions (rs1.platform.d1), every shard included.
        base = services_from_env(env, WorkersHttp(), _defer(ctx), RawD1)
        base.queues = {n: RawQueue(b) for n in QUEUE_BINDINGS if (b := getattr(env, n, None))}
        namespace = getattr(env, "LIVE_TARGETS", None)
        if namespace is not None:
            base.live = DurableLiveTargets(namespace)
        _isolate["services"] = base
    return replace(base, defer=_defer(ctx))


async def serve(app: App, request: Any, env: Any, ctx: Any) -> Any:
    api_request = await to_api_request(request, app.body_limit)
    return to_worker_response(await app.handle(api_request, make_services(env, ctx)))


async def serve_queue(
    consume: Callable[[Sequence[Delivery], Services], Awaitable[Outcome]],
    batch: Any,
    env: Any,
    ctx: Any,
) -> None:
    svc = make_services(env, ctx)
    await deliver(batch, lambda deliveries: consume(deliveries, svc))
