"""The admin API over httpx: every failure becomes a CtlError carrying rs1ctl's exit code.

`transport_factory` makes the transport of each new client (None: httpx's own network one);
tests swap in an httpx.MockTransport.
"""

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import httpx

from rs1tools.rs1ctl.exits import CtlError, Exit, for_status
from rs1tools.sessions import bearer

TIMEOUT_S = 120  # a 16 MiB firmware upload over a slow link
Query = Mapping[str, str | int | float | bool | None]


def network_transport() -> httpx.BaseTransport | None:
    return None


transport_factory: Callable[[], httpx.BaseTransport | None] = network_transport


def api_error(response: httpx.Response) -> CtlError:
    """The API's {"error","message","request_id"} (or a stand-in for a non-JSON answer)."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict) or "error" not in body:
        text = response.text.strip()[:200] or response.reason_phrase
        body = None
        error, message = f"http_{response.status_code}", text
    else:
        error, message = str(body["error"]), str(body.get("message", ""))
    request_id = (body or {}).get("request_id") or response.headers.get("x-request-id")
    return CtlError(for_status(response.status_code), error, message, request_id, body)


def _query(params: Query | None) -> dict[str, str | int | float]:
    """Unset filters dropped; booleans as the API spells them."""
    out: dict[str, str | int | float] = {}
    for name, value in (params or {}).items():
        if isinstance(value, bool):
            out[name] = "true" if value else "false"
        elif value is not None:
            out[name] = value
    return out


def _json(response: httpx.Response) -> Any:
    return response.json() if response.content else None  # 204: nothing


class Api:
    """An httpx client on the API's base URL with a bearer token (or the caller's client)."""

    def __init__(self, http: httpx.Client) -> None:
        self.http = http

    @classmethod
    def connect(cls, base_url: str, token: str) -> "Api":
        http = httpx.Client(
            base_url=base_url,
            headers=bearer(token),
            timeout=TIMEOUT_S,
            transport=transport_factory(),
        )
        return cls(http)

    def close(self) -> None:
        self.http.close()

    def call(
        self,
        method: str,
        path: str,
        *,
        params: Query | None = None,
        json: Any = None,
        content: bytes | Iterable[bytes] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        try:
            response = self.http.request(
                method, path, params=_query(params), json=json, content=content, headers=headers
            )
        except httpx.TransportError as exc:  # refused, reset, timed out
            message = f"{method} {self.http.base_url.join(path)}: {type(exc).__name__} {exc}"
            raise CtlError(Exit.UNAVAILABLE, "unavailable", message) from None
        if response.is_error:
            raise api_error(response)
        return response

    def get(self, path: str, params: Query | None = None) -> Any:
        return _json(self.call("GET", path, params=params))

    def post(self, path: str, body: Any = None, params: Query | None = None) -> Any:
        return _json(self.call("POST", path, json=body, params=params))

    def put(self, path: str, body: Any) -> Any:
        return _json(self.call("PUT", path, json=body))

    def patch(self, path: str, body: Any) -> Any:
        return _json(self.call("PATCH", path, json=body))

    def delete(self, path: str) -> Any:
        return _json(self.call("DELETE", path))
