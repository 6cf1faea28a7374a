"""The port to the devices' live-targets Durable Objects (implemented in rs1.platform; the
domain side is rs1.live), and the watcher each socket carries. Here, not in rs1.live, because
the services seam offers it and rs1.live itself uses the services."""

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Protocol

from rs1.identity.tokens import Claims
from rs1.messages import ApiResponse


@dataclass(frozen=True)
class Watcher:
    device_id: str
    sub: str
    role: str
    jti: str
    exp: int
    checked_at: float

    @property
    def claims(self) -> Claims:
        return Claims(self.sub, self.role, self.exp, self.jti)

    def encode(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def decode(cls, raw: object) -> "Watcher | None":
        """From a socket's attachment; None for anything else (e.g. an older plain id)."""
        try:
            return cls(**json.loads(raw)) if isinstance(raw, str) else None
        except (ValueError, TypeError):
            return None


class LiveTargets(Protocol):
    async def connect(self, device_id: str, protocol: str | None, watcher: Watcher) -> ApiResponse:
        """Open a watcher's WebSocket on the device's object: the runtime's 101 response
        (answering `protocol` as Sec-WebSocket-Protocol when given), or raise ApiError. The
        object keeps `watcher` with the socket and re-checks it while frames flow."""
        ...

    async def publish(self, device_id: str, frames: Sequence[Mapping[str, Any]]) -> None:
        """Send frames to the device's watchers (raises on failure)."""
        ...
