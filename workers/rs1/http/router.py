"""Method + path-template routing with the right 404 and 405 answers.

A route declares who may call it (`auth`, a kind the app's guards check: rs1.auth.guards),
what an API key needs for it (`scope`), its JSON body model (`body`) and, if it changes
anything, its audit action (`audit`); the app enforces all of them before the handler runs, so
a handler receives `caller=`, `body=` and `audit=` instead of checking them itself.
"""

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from rs1.errors import DomainError, InvalidInput
from rs1.http.errors import ApiError
from rs1.http.limits import JSON_BODY
from rs1.http.operation import Operation

Handler = Callable[..., Awaitable[Any]]
_PARAM = re.compile(r"\{(\w+)\}")


@dataclass(frozen=True)
class Body:
    """A route's JSON body: the model, and how an invalid one is answered."""

    model: type[BaseModel]
    invalid: type[DomainError] = InvalidInput  # some admin calls answer Unprocessable (422)
    code: str = "invalid_request"
    where: str = "request body"  # as the error message names it
    optional: bool = False  # an empty body means the model's defaults


@dataclass(frozen=True)
class Route:
    method: str
    template: str
    pattern: re.Pattern[str]
    handler: Handler
    doc: Operation | None = None  # what the OpenAPI document says of it
    max_body: int | None = None  # bytes; None: the router's default
    auth: str = "none"  # a guard name (rs1.auth.guards.AuthKind)
    body: Body | None = None  # parsed and validated, handed to the handler as `body=`
    scope: str | None = None  # what an API key needs (rs1.http.scopes); None: no key may
    audit: str | None = None  # the audit action of a mutating call (rs1.audit.trail)


def compile_template(template: str) -> re.Pattern[str]:
    """`/admin/devices/{device_id}/revoke` → a regex with one named group per parameter.

    A parameter matches one path segment; `{name:path}`-style catch-alls are not needed.
    """
    parts = _PARAM.split(template)
    regex = "".join(
        f"(?P<{part}>[^/]+)" if i % 2 else re.escape(part) for i, part in enumerate(parts)
    )
    return re.compile(f"^{regex}$")


class Router:
    def __init__(self, max_body: int = JSON_BODY) -> None:
        self.routes: list[Route] = []
        self.max_body = max_body

    def add(
        self,
        method: str,
        template: str,
        handler: Handler,
        doc: Operation | None = None,
        max_body: int | None = None,
        *,
        auth: str = "none",
        body: "type[BaseModel] | Body | None" = None,
        scope: str | None = None,
        audit: str | None = None,
    ) -> None:
        spec = Body(body) if isinstance(body, type) else body
        pattern = compile_template(template)
        route = Route(
            method.upper(), template, pattern, handler, doc, max_body, auth, spec, scope, audit
        )
        self.routes.append(route)

    def body_limit(self, method: str, path: str) -> int:
        """The largest body the route takes (the default for unknown routes and methods)."""
        for route in self.routes:
            if route.method == method and route.pattern.match(path):
                return route.max_body or self.max_body
        return self.max_body

    def match(self, method: str, path: str) -> tuple[Route, dict[str, str]]:
        allowed: list[str] = []
        for route in self.routes:
            found = route.pattern.match(path)
            if not found:
                continue
            if route.method == method or (method == "HEAD" and route.method == "GET"):
                return route, found.groupdict()
            allowed.append(route.method)
        if allowed:
            allow = ", ".join(sorted(set(allowed)))
            raise ApiError(
                405,
                "method_not_allowed",
                f"{method} is not allowed on {path}; allowed: {allow}.",
                headers={"allow": allow},
            )
        raise ApiError(404, "not_found", f"No route for {path}.")

    def resolve(self, method: str, path: str) -> tuple[Handler, dict[str, str]]:
        route, params = self.match(method, path)
        return route.handler, params
