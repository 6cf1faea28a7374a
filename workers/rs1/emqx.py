"""EMQX 5 HTTP API client: publish to devices and end sessions (Basic auth, API key)."""

import base64
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from rs1.errors import Unavailable
from rs1.services import HttpClient, HttpResult, Services


class EmqxError(Unavailable):
    """EMQX's API failed or is out of reach: the caller may retry (503 at the edge)."""

    code = "emqx_unavailable"


@dataclass(frozen=True)
class Message:
    topic: str
    payload: dict[str, Any]
    qos: int = 1
    retain: bool = False

    def body(self) -> dict[str, Any]:
        return {
            "topic": self.topic,
            "payload": json.dumps(self.payload, separators=(",", ":")),
            "payload_encoding": "plain",
            "qos": self.qos,
            "retain": self.retain,
        }


class EmqxApi:
    def __init__(self, http: HttpClient, base_url: str, api_key: str) -> None:
        self.http = http
        self.base_url = base_url.rstrip("/")
        token = base64.b64encode(api_key.encode()).decode()
        self.headers = {"authorization": f"Basic {token}", "content-type": "application/json"}

    async def _request(self, method: str, url: str, body: bytes | None = None) -> HttpResult:
        try:
            return await self.http.request(method, url, self.headers, body)
        except Exception as exc:  # the runtime's fetch failures (refused, DNS, TLS, reset)
            raise EmqxError(f"EMQX API unreachable: {exc!r}") from exc

    async def kick(self, client_id: str) -> bool:
        """End a client's session; True if one was connected (204), False if none (404)."""
        url = f"{self.base_url}/api/v5/clients/{quote(client_id, safe='')}"
        result = await self._request("DELETE", url)
        if result.status in (200, 204):
            return True
        if result.status == 404:
            return False
        raise EmqxError(f"kick {client_id}: HTTP {result.status}")

    async def publish(self, message: Message) -> bool:
        """True if delivered to a subscriber (200), False if none matched (202)."""
        body = json.dumps(message.body()).encode()
        url = f"{self.base_url}/api/v5/publish"
        result = await self._request("POST", url, body)
        if result.status in (200, 202):
            return result.status == 200
        raise EmqxError(f"publish {message.topic}: HTTP {result.status}")

    async def publish_bulk(self, messages: list[Message]) -> list[bool]:
        body = json.dumps([m.body() for m in messages]).encode()
        url = f"{self.base_url}/api/v5/publish/bulk"
        result = await self._request("POST", url, body)
        if result.status not in (200, 202):
            raise EmqxError(f"bulk publish: HTTP {result.status}")
        return ["reason_code" not in r for r in json.loads(result.body)]


def emqx_api(svc: Services) -> EmqxApi:
    if svc.http is None:
        raise EmqxError("no outbound HTTP client")
    return EmqxApi(svc.http, svc.settings.emqx_api_url, svc.settings.emqx_api_key)
