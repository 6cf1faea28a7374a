"""Glue between the Workers runtime (workers SDK, Pyodide) and the runtime-free `rs1` app.

Entry modules call `serve` (fetch) and `make_services` (scheduled); only this package and
the entries touch the runtime. The live-targets Durable Object's glue is
rs1.platform.live_objects.
"""

from collections.abc import Awaitable, Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

from workers import Response, fetch

from rs1.http.app import App, request_id_for
from rs1.messages import ApiRequest, ApiResponse, RuntimeResponse
from rs1.platform.live_objects import DurableLiveTargets
from rs1.services import HttpResult, Services, services_from_env

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


def _declared_length(headers: Mapping[str, str]) -> int | None:
    try:
        return int(headers["content-length"])
    except (KeyError, ValueError):
        return None


async def to_api_request(request: Any, body_limit: Callable[[str, str], int]) -> ApiRequest:
    url = urlsplit(str(request.url))
    headers = {k.lower(): v for k, v in request.headers.items()}
    # The SDK's Request.method is an HTTPMethod enum that raises KeyError for methods it does
    # not list (QUERY, PROPFIND, ...); the raw JS string lets the router answer 405 instead.
    method = str(getattr(request, "js_object", request).method).upper()
    declared = _declared_length(headers)
    # A body over the route's limit is never read: the app answers 413 from its length.
    oversized = declared is not None and declared > body_limit(method, url.path)
    skip = method in ("GET", "HEAD") or oversized
    body = b"" if skip else bytes(await request.bytes())
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
    api_request = await to_api_request(request, app.body_limit)
    return to_worker_response(await app.handle(api_request, make_services(env, ctx)))
