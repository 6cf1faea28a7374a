"""Request and response values that handlers see, independent of the Workers runtime."""

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from rs1.errors import InvalidInput

JSON_TYPE = "application/json"


@dataclass(frozen=True)
class ApiRequest:
    method: str
    path: str
    query_string: str = ""
    headers: Mapping[str, str] = field(default_factory=dict)  # lower-case names
    body: bytes = b""
    client_ip: str = ""
    request_id: str = ""
    # The declared Content-Length of a body that was too large to read (body is then empty).
    body_length: int | None = None
    # Headers a `before` hook wants on whatever response follows (e.g. X-RateLimit-*).
    response_headers: dict[str, str] = field(default_factory=dict)

    def header(self, name: str, default: str = "") -> str:
        return self.headers.get(name.lower(), default)

    @property
    def query(self) -> dict[str, str]:
        """Single-valued query parameters (the last value wins)."""
        return {k: v[-1] for k, v in parse_qs(self.query_string, keep_blank_values=True).items()}

    def json(self) -> Any:
        """The body parsed as JSON; a clear 400 when it is not."""
        if not self.body:
            raise InvalidInput("The request body is empty; JSON was expected.", code="invalid_json")
        try:
            return json.loads(self.body)
        except (ValueError, UnicodeDecodeError) as exc:
            message = f"The request body is not valid JSON: {exc}"
            raise InvalidInput(message, code="invalid_json") from None


@dataclass
class ApiResponse:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    # An opaque runtime stream (e.g. an R2 body) sent instead of `body`, never buffered.
    stream: Any = None


class RuntimeResponse(ApiResponse):
    """A runtime Response passed through untouched (a 101 carrying a WebSocket): opaque here."""

    def __init__(self, runtime: Any) -> None:
        super().__init__(status=int(runtime.status))
        self.runtime = runtime


def json_response(
    data: Any, status: int = 200, headers: dict[str, str] | None = None
) -> ApiResponse:
    body = json.dumps(data, separators=(",", ":"), default=str).encode()
    return ApiResponse(status, body, {"content-type": JSON_TYPE, **(headers or {})})


def empty_response(status: int = 204, headers: dict[str, str] | None = None) -> ApiResponse:
    return ApiResponse(status, b"", dict(headers or {}))
