"""The port to the devices' live-targets Durable Objects (implemented in rs1.platform)."""

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from rs1.http.messages import ApiResponse

if TYPE_CHECKING:  # rs1.live.watchers imports the auth code, which imports rs1.services
    from rs1.live.watchers import Watcher


class LiveTargets(Protocol):
    async def connect(
        self, device_id: str, protocol: str | None, watcher: "Watcher"
    ) -> ApiResponse:
        """Open a watcher's WebSocket on the device's object: the runtime's 101 response
        (answering `protocol` as Sec-WebSocket-Protocol when given), or raise ApiError. The
        object keeps `watcher` with the socket and re-checks it while frames flow."""
        ...

    async def publish(self, device_id: str, frames: Sequence[Mapping[str, Any]]) -> None:
        """Send frames to the device's watchers (raises on failure)."""
        ...
