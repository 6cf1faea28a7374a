"""Method + path-template routing with the right 404 and 405 answers."""

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from rs1.http.errors import ApiError

Handler = Callable[..., Awaitable[Any]]
_PARAM = re.compile(r"\{(\w+)\}")


@dataclass(frozen=True)
class Route:
    method: str
    template: str
    pattern: re.Pattern[str]
    handler: Handler
    doc: Any = None  # an rs1.http.openapi.Operation: what the OpenAPI document says of it


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
    def __init__(self) -> None:
        self.routes: list[Route] = []

    def add(self, method: str, template: str, handler: Handler, doc: Any = None) -> None:
        route = Route(method.upper(), template, compile_template(template), handler, doc)
        self.routes.append(route)

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
