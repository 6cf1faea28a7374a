"""EMQX HTTP authorization for publish and subscribe.

Per source: 204 -> allow; 200 with {"result": "allow"|"deny"} -> that; anything else (other
status, other result, unparsable body, error, timeout) -> no match, ask the next source.
No source matched -> authorization.no_match. Final decisions are cached per client
(cache.enable / max_size / ttl). Superusers never get here (the broker skips them).
"""

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from rs1broker.authz_cache import AuthzCache
from rs1broker.settings import AuthzSettings, HttpEndpoint
from rs1broker.webhook_client import CALL_ERRORS, HttpReply, WebhookClient

log = logging.getLogger("rs1broker")


@dataclass(frozen=True)
class AuthzRequest:
    clientid: str
    username: str | None
    peerhost: str
    action: str  # "publish" | "subscribe"
    topic: str  # a filter for subscribe
    qos: int
    retain: bool

    def cache_key(self) -> tuple[str, str, int, bool]:
        return (self.action, self.topic, self.qos, self.retain)

    def values(self) -> dict[str, str]:
        # Templated values are strings, as EMQX renders them ("1", "false").
        return {
            "clientid": self.clientid,
            "username": self.username or "",
            "peerhost": self.peerhost,
            "action": self.action,
            "topic": self.topic,
            "qos": str(self.qos),
            "retain": "true" if self.retain else "false",
            "proto_name": "MQTT",
            "mountpoint": "",
        }


@dataclass(frozen=True)
class AuthzDecision:
    allowed: bool
    source: str  # "http", "no_match" or "cache"
    outcome: str = ""  # "allow" | "deny" (a source said so) | "nomatch" (none did)
    detail: str = ""  # why there was no match: "HTTP 503", "ConnectError", ...

    @property
    def reason(self) -> str:
        """For the ledger: "deny", "nomatch", or "cache_hit:deny" / "cache_hit:nomatch"."""
        return f"cache_hit:{self.outcome}" if self.source == "cache" else self.outcome


def read_authz_reply(reply: HttpReply) -> str | None:
    """ "allow" or "deny" when the source matched, None for no match."""
    if reply.status == 204:
        return "allow"
    if reply.status != 200:
        return None
    document = reply.document() or {}
    result = document.get("result")
    return result if result in ("allow", "deny") else None


class HttpAuthorizer:
    def __init__(
        self,
        settings: AuthzSettings,
        client: WebhookClient,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._settings = settings
        self._client = client
        self._cache = AuthzCache(settings.cache_max_size, settings.cache_ttl, clock)

    async def check(self, request: AuthzRequest) -> AuthzDecision:
        use_cache = self._settings.cache_enabled
        if use_cache:
            cached = self._cache.get(request.clientid, request.cache_key())
            if isinstance(cached, AuthzDecision):
                return replace(cached, source="cache")
        decision = await self._ask_sources(request)
        if use_cache:  # every answer is kept, a no-match caused by an outage included
            self._cache.put(request.clientid, request.cache_key(), decision)
        return decision

    def forget(self, clientid: str) -> None:
        self._cache.drop(clientid)

    async def _ask_sources(self, request: AuthzRequest) -> AuthzDecision:
        details = []
        for source in self._settings.sources:
            result, detail = await self._ask(source, request)
            if result is not None:
                return AuthzDecision(result == "allow", "http", result)
            details.append(detail)
        allowed = self._settings.no_match == "allow"
        return AuthzDecision(allowed, "no_match", "nomatch", "; ".join(details))

    async def _ask(self, source: HttpEndpoint, request: AuthzRequest) -> tuple[str | None, str]:
        try:
            reply = await self._client.call(source, request.values())
        except CALL_ERRORS as exc:
            log.debug("authz source %s failed: %s", source.url, type(exc).__name__)
            return None, type(exc).__name__
        result = read_authz_reply(reply)
        return result, "" if result else f"HTTP {reply.status}"
