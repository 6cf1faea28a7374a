"""Glue between the Workers runtime (workers SDK, Pyodide) and the runtime-free `rs1` app.

Entry modules call `serve` / `run_scheduled`; nothing else in `rs1` touches the runtime.
"""

from collections.abc import Awaitable, Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

from workers import Response, fetch

from rs1.http.app import App, request_id_for
from rs1.http.messages import ApiRequest, ApiResponse
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


async def to_api_request(request: Any) -> ApiRequest:
    url = urlsplit(str(request.url))
    headers = {k.lower(): v for k, v in request.headers.items()}
    method = str(request.method).upper()
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


def to_worker_response(response: ApiResponse) -> Response:
    # An R2 body arrives wrapped by the SDK's binding wrapper; Response wants the JS stream.
    stream = getattr(response.stream, "_binding", response.stream)
    body: Any = stream if stream is not None else response.body
    if response.status in _NO_BODY_STATUSES or body == b"":
        body = None
    return Response(body, status=response.status, headers=response.headers)


def _defer(ctx: Any) -> Callable[[Awaitable[Any]], None]:
    return lambda awaitable: ctx.waitUntil(awaitable)


def make_services(env: Any, ctx: Any) -> Services:
    return services_from_env(env, WorkersHttp(), _defer(ctx))


async def serve(app: App, request: Any, env: Any, ctx: Any) -> Response:
    api_request = await to_api_request(request)
    return to_worker_response(await app.handle(api_request, make_services(env, ctx)))
