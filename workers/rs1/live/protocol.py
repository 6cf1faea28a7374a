"""The WebSocket contract of GET /api/devices/{id}/targets.

Browsers cannot set `Authorization` on a WebSocket, so the bearer token may also travel as a
subprotocol: the client offers `Sec-WebSocket-Protocol: rs1.targets.v1, bearer.<JWT>` and the
server answers `Sec-WebSocket-Protocol: rs1.targets.v1` (never echoing the token). A JWT is
base64url segments joined by dots, all RFC 7230 token characters, so it is a valid subprotocol
name. Non-browser clients may send `Authorization: Bearer <JWT>` instead (it wins when both are
given); whoever offers subprotocols at all must offer `rs1.targets.v1`. Tokens never go in the
URL, where access logs would keep them.
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass

from rs1.errors import InvalidInput

PROTOCOL = "rs1.targets.v1"
BEARER_PREFIX = "bearer."
_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")  # RFC 7230 tchar

# The device API's request to the device's Durable Object (an internal URL: a stub ignores
# the host). The object learns its device and the subprotocol to answer from these.
CONNECT_URL = "https://live.rs1.internal/connect"
PUBLISH_URL = "https://live.rs1.internal/publish"
DEVICE_HEADER = "x-rs1-device-id"
PROTOCOL_HEADER = "x-rs1-subprotocol"
WATCHER_HEADER = "x-rs1-watcher"  # the authenticated watcher (rs1.live.watchers.Watcher)


def invalid_subprotocol(message: str) -> InvalidInput:
    return InvalidInput(message, code="invalid_subprotocol")


@dataclass(frozen=True)
class Offer:
    """What the client put in Sec-WebSocket-Protocol."""

    protocols: tuple[str, ...] = ()  # everything offered, the bearer entry included
    token: str | None = None  # from a `bearer.<JWT>` entry

    @property
    def answer(self) -> str | None:
        """The subprotocol the server selects: ours when anything was offered, else none."""
        return PROTOCOL if self.protocols else None


def parse_offer(header: str) -> Offer:
    """Parse Sec-WebSocket-Protocol (several header lines arrive joined by commas)."""
    protocols = tuple(p.strip() for p in header.split(",") if p.strip())
    if not protocols:
        return Offer()
    for name in protocols:
        if not _TOKEN.match(name):
            raise invalid_subprotocol(f"Subprotocol {name[:40]!r} is not a valid token.")
    tokens = [p[len(BEARER_PREFIX) :] for p in protocols if p.startswith(BEARER_PREFIX)]
    if len(tokens) > 1:
        raise invalid_subprotocol("Offer at most one bearer.<token> subprotocol.")
    if PROTOCOL not in protocols:
        raise invalid_subprotocol(f"Offer the {PROTOCOL} subprotocol.")
    return Offer(protocols, tokens[0] if tokens and tokens[0] else None)


def is_websocket_upgrade(method: str, headers: Mapping[str, str]) -> bool:
    """A GET with `Upgrade: websocket` (header names lower-case, as ApiRequest keeps them)."""
    upgrade = {v.strip().lower() for v in headers.get("upgrade", "").split(",")}
    return method == "GET" and "websocket" in upgrade
