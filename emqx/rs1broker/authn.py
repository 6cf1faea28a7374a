"""EMQX HTTP authentication (password_based + http), one CONNECT at a time.

Reply semantics (EMQX 5): 204 -> allow; 200 with a JSON (or form) body -> its "result":
"allow" (with "is_superuser"), "deny", or "ignore"; a missing/unknown result, an unparsable
body, any other status, a transport error or a timeout -> ignore. Authenticators form a
chain: allow/deny stop it, ignore asks the next; "ignore" from the last one refuses.
"""

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from rs1broker.settings import HttpEndpoint
from rs1broker.webhook_client import CALL_ERRORS, HttpReply, WebhookClient

log = logging.getLogger("rs1broker")
NO_AUTHENTICATOR = "no authenticator configured"


@dataclass(frozen=True)
class AuthnResult:
    outcome: str  # "allow" | "deny" | "ignore"
    is_superuser: bool = False
    why: str = ""

    @property
    def allowed(self) -> bool:
        return self.outcome == "allow"

    @property
    def anonymous(self) -> bool:
        return self.why == NO_AUTHENTICATOR


def _truthy(value: Any) -> bool:
    return value is True or value == 1 or str(value).lower() == "true"


def read_authn_reply(reply: HttpReply) -> AuthnResult:
    if reply.status == 204:
        return AuthnResult("allow", why="HTTP 204")
    if reply.status != 200:
        return AuthnResult("ignore", why=f"HTTP {reply.status}")
    document = reply.document()
    if document is None:
        return AuthnResult("ignore", why="reply body is not JSON")
    result = document.get("result")
    if result == "allow":
        return AuthnResult("allow", _truthy(document.get("is_superuser", False)), "allow")
    if result == "deny":
        return AuthnResult("deny", why="deny")
    return AuthnResult("ignore", why=f"result {result!r}")


class HttpAuthenticator:
    def __init__(self, endpoints: Sequence[HttpEndpoint], client: WebhookClient) -> None:
        self._endpoints = tuple(endpoints)
        self._client = client

    async def authenticate(self, values: Mapping[str, str]) -> AuthnResult:
        if not self._endpoints:
            return AuthnResult("allow", why=NO_AUTHENTICATOR)
        result = AuthnResult("ignore")
        for endpoint in self._endpoints:
            result = await self._ask(endpoint, values)
            if result.outcome != "ignore":
                return result
        return result  # "ignore" from the last authenticator: refused

    async def _ask(self, endpoint: HttpEndpoint, values: Mapping[str, str]) -> AuthnResult:
        try:
            reply = await self._client.call(endpoint, values)
        except CALL_ERRORS as exc:
            return AuthnResult("ignore", why=f"{type(exc).__name__} calling {endpoint.url}")
        return read_authn_reply(reply)
