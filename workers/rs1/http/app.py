"""The request wrapper shared by every Worker: routing, error shape, request ids, 500s."""

import re
import secrets
import traceback
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from rs1.audit.actors import new_trail
from rs1.audit.database import AuditedDatabase
from rs1.errors import DomainError, Forbidden
from rs1.http.error_map import to_api_error
from rs1.http.errors import ApiError, error_body
from rs1.http.router import Body, Route, Router
from rs1.http.scopes import allows
from rs1.logs import log_event
from rs1.messages import ApiRequest, ApiResponse, json_response
from rs1.monitoring.api_stats import ApiStats
from rs1.services import Services
from rs1.storage.database import StorageError
from rs1.validation import validate

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def request_id_for(headers: Mapping[str, str]) -> str:
    """Reuse a caller's well-formed X-Request-Id (EMQX traces, retries), else make one."""
    given = headers.get("x-request-id", "")
    return given if _REQUEST_ID.match(given) else secrets.token_hex(8)


def error_response(
    err: ApiError, request_id: str, headers: dict[str, str] | None = None
) -> ApiResponse:
    body = error_body(err.code, err.message, request_id, err.details)
    return json_response(body, err.status, {**err.headers, **(headers or {})})


Before = Callable[[ApiRequest, Services], Awaitable[ApiResponse | None]]
After = Callable[[ApiRequest, ApiResponse, Services], None]
# A route's declared auth kind → its check: the caller handed to the handler, or None.
Guard = Callable[[ApiRequest, Services, Mapping[str, str]], Awaitable[object | None]]


async def anyone(request: ApiRequest, services: Services, params: Mapping[str, str]) -> None:
    """Auth kind "none": every app has it."""
    return None


# What an unexpected exception answers. A browser or CLI gets 500. EMQX drops a 500 at once
# and for good (emqx_bridge_http_connector: only 429, 503 and transport errors are retried),
# so the EMQX-facing Worker answers 503 instead: the message is retried until the action's
# request_ttl and, if it still fails, counted by EMQX as dropped.expired, never lost silently.
INTERNAL_ERROR = ApiError(500, "internal_error", "An internal error occurred.")
RETRY_LATER = ApiError(
    503,
    "temporarily_unavailable",
    "A transient failure; retry later.",
    headers={"retry-after": "1"},
)


class App:
    """`before` hooks may answer early (CORS preflight) or raise (rate limits); `after` hooks
    decorate every response, errors included (security headers, CORS). `unexpected` is the
    answer to an exception nobody classified (INTERNAL_ERROR or RETRY_LATER)."""

    def __init__(
        self,
        worker: str,
        router: Router,
        before: Sequence[Before] = (),
        after: Sequence[After] = (),
        guards: Mapping[str, Guard] | None = None,
        unexpected: ApiError = INTERNAL_ERROR,
    ) -> None:
        self.worker = worker
        self.router = router
        self.guards: dict[str, Guard] = {"none": anyone, **(guards or {})}
        unguarded = {r.auth for r in router.routes} - self.guards.keys()
        if unguarded:  # a declared check nobody enforces must not start at all
            raise ValueError(f"{worker}: no guard for auth kinds {sorted(unguarded)}")
        self.before = tuple(before)
        self.after = tuple(after)
        self.stats = ApiStats(worker)
        self.unexpected = unexpected

    def body_limit(self, method: str, path: str) -> int:
        return self.router.body_limit(method, path)

    def _check_size(self, request: ApiRequest) -> None:
        size = request.body_length if request.body_length is not None else len(request.body)
        limit = self.body_limit(request.method, request.path)
        if size > limit:
            message = f"The body has {size} bytes; {request.path} takes at most {limit}."
            raise ApiError(413, "payload_too_large", message)

    async def _dispatch(self, request: ApiRequest, services: Services) -> ApiResponse:
        self._check_size(request)
        for hook in self.before:
            early = await hook(request, services)
            if early is not None:
                return early
        route, params = self.router.match(request.method, request.path)
        inputs = await self._inputs(route, request, services, params)
        if route.audit is None:
            return await route.handler(request, services, **params, **inputs)
        return await _audited(route, request, services, params, inputs)

    async def _inputs(
        self, route: Route, request: ApiRequest, services: Services, params: Mapping[str, str]
    ) -> dict[str, Any]:
        """What the route declares, checked in order: the caller first, then the body."""
        inputs: dict[str, Any] = {}
        caller = await self.guards[route.auth](request, services, params)
        if caller is not None:
            _check_scope(route, caller)
            inputs["caller"] = caller
        if route.body is not None:
            inputs["body"] = _parse(route.body, request)
        return inputs

    async def handle(self, request: ApiRequest, services: Services) -> ApiResponse:
        try:
            response = await self._dispatch(request, services)
        except ApiError as err:
            response = error_response(err, request.request_id)
        except DomainError as exc:
            response = error_response(to_api_error(exc), request.request_id)
        except StorageError as exc:
            # Retryable by the caller (EMQX retries 5xx): never a 200 that lost data.
            self._log_failure("storage_error", request, exception=str(exc))
            err = ApiError(503, "storage_unavailable", "Storage is unavailable; retry later.")
            response = error_response(err, request.request_id, headers={"retry-after": "1"})
        except Exception as exc:  # noqa: BLE001 — the last net: log it, never leak a traceback
            self._log_failure(
                "unhandled_exception",
                request,
                exception=repr(exc),
                traceback=traceback.format_exc(),
            )
            response = error_response(self.unexpected, request.request_id)
        response.headers["x-request-id"] = request.request_id
        for name, value in request.response_headers.items():
            response.headers.setdefault(name, value)
        for hook in self.after:
            hook(request, response, services)
        self._count(response.status, services)
        if request.method == "HEAD":
            response.body, response.stream = b"", None
        return response

    def _log_failure(self, event: str, request: ApiRequest, **fields: Any) -> None:
        log_event(
            "error",
            event,
            worker=self.worker,
            request_id=request.request_id,
            method=request.method,
            path=request.path,
            **fields,
        )

    def _count(self, status: int, services: Services | None) -> None:
        """Request/5xx counts for the API error-rate alert (flushed in the background); unit
        tests of the app itself run without services."""
        if services is None:
            return
        self.stats.record(status, services.clock())
        self.stats.flush_if_due(services.db, services.defer)


def _check_scope(route: Route, caller: object) -> None:
    """An API key's caller carries its scopes (rs1.auth.api_key.KeyClaims); a session's none."""
    scopes = getattr(getattr(caller, "claims", None), "scopes", None)
    if scopes is not None and not allows(scopes, route.scope):
        needed = f"scope {route.scope}" if route.scope else "a session (API keys may not)"
        raise Forbidden(f"This call needs {needed}.", code="insufficient_scope")


async def _audited(
    route: Route,
    request: ApiRequest,
    services: Services,
    params: Mapping[str, str],
    inputs: dict[str, Any],
) -> ApiResponse:
    """The handler over a database whose first change carries the call's audit record; a
    successful call that changed nothing in D1 still gets its record."""
    caller, now = inputs.get("caller"), services.clock()
    trail = new_trail(route.audit or "", request, caller, params, now, services.db)
    audited = replace(services, db=AuditedDatabase(services.db, trail))
    response = await route.handler(request, audited, **params, **inputs, audit=trail)
    if 200 <= response.status < 300:
        await trail.commit()
    return response


def _parse(body: Body, request: ApiRequest) -> Any:
    if body.optional and not request.body:
        return body.model()
    return validate(body.model, request.json(), body.code, body.where, body.invalid)
