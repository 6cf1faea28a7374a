"""One device's watchers: the logic of its Durable Object, free of the runtime.

The object keeps the KV marker `live:{device_id}` (RS1_CACHE) true to its sockets: set when a
watcher joins, deleted when the last one leaves or when a publish finds nobody listening (a
marker left behind by an object that was reset without close events heals itself there).
The telemetry webhook reads the marker so that unwatched devices, nearly all of them, cost no
Durable Object call. Deleting races a concurrent join (both await KV), so a delete re-checks
the sockets and puts the marker back when someone arrived meanwhile.
"""

from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from rs1.live.frames import encode, hello
from rs1.logs import log_event
from rs1.storage.database import StorageError
from rs1.storage.kv import KeyValue

MARKER_PREFIX = "live:"
RECENT_IDS = 1024  # message ids remembered for dedupe (a few minutes of one device)


def marker_key(device_id: str) -> str:
    return f"{MARKER_PREFIX}{device_id}"


class Socket(Protocol):
    def send(self, text: str) -> None: ...


class RecentIds:
    """A bounded set: `add` is False for an id seen among the last `size` ids."""

    def __init__(self, size: int = RECENT_IDS) -> None:
        self.size = size
        self._ids: OrderedDict[str, None] = OrderedDict()

    def add(self, message_id: str) -> bool:
        if message_id in self._ids:
            return False
        self._ids[message_id] = None
        if len(self._ids) > self.size:
            self._ids.popitem(last=False)
        return True

    def __len__(self) -> int:
        return len(self._ids)


class Room:
    def __init__(self, kv: KeyValue | None, sockets: Callable[[], Sequence[Socket]]) -> None:
        self.kv = kv
        self.sockets = sockets  # the open sockets (the hibernation API's getWebSockets)
        self.recent = RecentIds()
        self.marker: bool | None = None  # what this object last wrote; None: unknown

    def greeting(self, device_id: str) -> str:
        """The hello a socket just accepted gets, before anything else: send it before any
        await, or a frame published meanwhile would reach the watcher first."""
        return hello(device_id, len(self.sockets()))

    async def joined(self, device_id: str) -> None:
        """A watcher's socket was accepted and greeted: mark the device watched (always
        written: joins are rare, and the flag may lag a KV write still in flight)."""
        await self._set_marker(device_id)

    async def left(self, device_id: str, others: Sequence[Socket]) -> None:
        """A socket closed; `others` are the sockets still open."""
        if not others:
            await self._clear_marker(device_id)

    async def publish(self, device_id: str, frames: Sequence[Mapping[str, Any]]) -> int:
        """Send each new frame to every socket; the number of frames sent."""
        sockets = self.sockets()
        if not sockets:
            await self._clear_marker(device_id)
            return 0
        sent = 0
        for frame in frames:
            if not self.recent.add(str(frame["message_id"])):
                continue
            text = encode(frame)
            for socket in sockets:
                try:
                    socket.send(text)
                except Exception as exc:  # noqa: BLE001 — a socket closing under us is normal
                    log_event("warning", "live_send_failed", device_id=device_id, error=repr(exc))
            sent += 1
        return sent

    async def _set_marker(self, device_id: str) -> None:
        if self.kv is None:
            return
        try:
            await self.kv.put(marker_key(device_id), "1")
        except StorageError as exc:  # the socket still works; frames wait for the marker
            log_event("error", "live_marker_failed", device_id=device_id, error=str(exc))
            return
        self.marker = True

    async def _clear_marker(self, device_id: str) -> None:
        if self.kv is None or self.marker is False:
            return
        try:
            await self.kv.delete(marker_key(device_id))
        except StorageError as exc:
            log_event("error", "live_marker_failed", device_id=device_id, error=str(exc))
            return
        self.marker = False
        if self.sockets():  # a watcher joined while the delete was in flight
            await self._set_marker(device_id)
