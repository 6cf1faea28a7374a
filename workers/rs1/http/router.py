"""Method + path-template routing with the right 404 and 405 answers."""

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from rs1.http.errors import ApiError
from rs1.http.limits import JSON_BODY

Handler = Callable[..., Awaitable[Any]]
_PARAM = re.compile(r"\{(\w+)\}")


@dataclass(frozen=True)
class Route:
    method: str
    template: str
    pattern: re.Pattern[str]
    handler: Handler
    doc: Any = None  # an rs1.http.openapi.Operation: what the OpenAPI document says of it
    max_body: int | None = None  # bytes; None: the router's default


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
        doc: Any = None,
        max_body: int | None = None,
    ) -> None:
        route = Route(method.upper(), template, compile_template(template), handler, doc, max_body)
        self.routes.append(route)

    def body_limit(self, method: str, path: str) -> int:
        """The largest body the route takes (the default for unknown routes and methods)."""
        for route in self.routes:
            if route.method == method and route.pattern.match(path):
                return route.max_body or self.max_body
        return self.max_body

    def route(self, method: str, template: str) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self.add(method, template, handler)
            return handler

        return register

    def resolve(self, method: str, path: str) -> tuple[Handler, dict[str, str]]:
        allowed: list[str] = []
        for route in self.routes:
            match = route.pattern.match(path)
            if not match:
                continue
            if route.method == method or (method == "HEAD" and route.method == "GET"):
                return route.handler, match.groupdict()
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
