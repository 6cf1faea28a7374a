"""The one pooled HTTP client behind authn, authz and rule actions.

Sharing one httpx.AsyncClient keeps connections to the Workers alive across calls (the
broker makes one authz call per uncached publish and one action call per forwarded message).
"""

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode

import httpx

from rs1broker.settings import HttpEndpoint
from rs1broker.templates import from_values, render, render_deep

# What a failed call can raise: transport errors and timeouts, or a URL httpx refuses.
CALL_ERRORS = (httpx.HTTPError, httpx.InvalidURL)


@dataclass(frozen=True)
class HttpReply:
    status: int
    content_type: str
    body: bytes

    def document(self) -> dict[str, Any] | None:
        """The reply body as EMQX reads it: JSON or form-encoded, else nothing."""
        kind = self.content_type.split(";")[0].strip().lower()
        try:
            if kind == "application/json":
                parsed = json.loads(self.body)
            elif kind == "application/x-www-form-urlencoded":
                parsed = dict(parse_qsl(self.body.decode()))
            else:
                return None
        except (ValueError, UnicodeDecodeError):
            return None
        return parsed if isinstance(parsed, dict) else None


class WebhookClient:
    def __init__(self, max_connections: int = 64) -> None:
        limits = httpx.Limits(
            max_connections=max_connections, max_keepalive_connections=max_connections
        )
        self._http = httpx.AsyncClient(limits=limits, follow_redirects=False)

    async def close(self) -> None:
        await self._http.aclose()

    async def send(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        content: bytes | None,
        timeouts: tuple[float, float],
        params: Mapping[str, str] | None = None,
    ) -> HttpReply:
        connect, total = timeouts
        response = await self._http.request(
            method.upper(),
            url,
            headers=dict(headers),
            content=content,
            params=params,
            timeout=httpx.Timeout(total, connect=connect),
        )
        return HttpReply(
            response.status_code, response.headers.get("content-type", ""), response.content
        )

    async def call(self, endpoint: HttpEndpoint, values: Mapping[str, str]) -> HttpReply:
        """Fill an authn/authz request template with `values` and send it."""
        lookup = from_values(values)
        # Values land URL-encoded in the URL, verbatim in headers and body (as EMQX does).
        url = render(endpoint.url, lambda name: quote(lookup(name), safe=""))
        headers = {k: render(v, lookup) for k, v in endpoint.headers.items()}
        body = render_deep(endpoint.body, lookup)
        timeouts = (endpoint.connect_timeout, endpoint.request_timeout)
        if endpoint.method == "get":
            params = {k: str(v) for k, v in body.items()}
            return await self.send("get", url, headers, None, timeouts, params)
        return await self.send(endpoint.method, url, headers, _encode(body, headers), timeouts)


def _encode(body: dict[str, Any], headers: Mapping[str, str]) -> bytes:
    kind = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
    if kind.startswith("application/x-www-form-urlencoded"):
        return urlencode({k: str(v) for k, v in body.items()}).encode()
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
