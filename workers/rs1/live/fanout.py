"""The telemetry webhook's side: hand accepted targets frames to watched devices' objects.

Called after the batch is stored (so a frame a watcher sees is a frame D1 keeps), deferred with
svc.defer (ctx.waitUntil): it never delays the webhook's answer to EMQX nor turns a stored
batch into an error. Ingestion runs thousands of messages a second, nearly all from devices
nobody watches, so a device's object is called only when KV RS1_CACHE holds `live:{id}`; the
answer is remembered in isolate memory for MEMO_S seconds, bounding KV reads to one per device
per isolate per MEMO_S (a new watcher's frames start within MEMO_S plus KV's propagation
delay). A batch looks up at most MAX_LOOKUPS devices it has no memo for; the rest wait for a
later batch.
"""

import asyncio
from collections.abc import Callable, Iterable, Sequence

from rs1.live.frames import frame, targets_by_device
from rs1.live.room import marker_key
from rs1.logs import log_event
from rs1.services import Services
from rs1.storage.kv import KeyValue
from rs1.telemetry.ingest import RawRow

MEMO_S = 5.0
MAX_LOOKUPS = 256
MEMO_LIMIT = 50_000  # devices remembered per isolate before the memo is pruned


class WatchMemo:
    """device_id -> (watched, until): the isolate's recent marker lookups."""

    def __init__(self, ttl_s: float = MEMO_S, limit: int = MEMO_LIMIT) -> None:
        self.ttl_s = ttl_s
        self.limit = limit
        self._entries: dict[str, tuple[bool, float]] = {}

    def get(self, device_id: str, now: float) -> bool | None:
        entry = self._entries.get(device_id)
        if entry is None or entry[1] <= now:
            return None
        return entry[0]

    def put(self, device_id: str, watched: bool, now: float) -> None:
        if len(self._entries) >= self.limit:
            self._entries = {k: v for k, v in self._entries.items() if v[1] > now}
            if len(self._entries) >= self.limit:
                self._entries.clear()
        self._entries[device_id] = (watched, now + self.ttl_s)

    def clear(self) -> None:
        self._entries.clear()


MEMO = WatchMemo()  # module state lives as long as the isolate


async def watched_devices(
    kv: KeyValue, device_ids: Iterable[str], clock: Callable[[], float], memo: WatchMemo = MEMO
) -> list[str]:
    now = clock()
    known: dict[str, bool] = {}
    unknown: list[str] = []
    for device_id in device_ids:
        hit = memo.get(device_id, now)
        if hit is None:
            unknown.append(device_id)
        else:
            known[device_id] = hit
    lookups = unknown[:MAX_LOOKUPS]
    values = await asyncio.gather(*(kv.get(marker_key(d)) for d in lookups))
    for device_id, value in zip(lookups, values, strict=True):
        known[device_id] = value is not None
        memo.put(device_id, value is not None, now)
    return [d for d, watched in known.items() if watched]


async def fan_out(svc: Services, grouped: dict[str, list[RawRow]], memo: WatchMemo = MEMO) -> None:
    """Publish each watched device's frames to its object; failures are logged, not raised."""
    kv, live = svc.kv.get("RS1_CACHE"), svc.live
    if kv is None or live is None:
        return
    try:
        devices = await watched_devices(kv, grouped, svc.clock, memo)
        results = await asyncio.gather(
            *(live.publish(d, [frame(r) for r in grouped[d]]) for d in devices),
            return_exceptions=True,
        )
    except Exception as exc:  # noqa: BLE001 — never let the live view hurt ingestion
        log_event("error", "live_fan_out_failed", error=repr(exc))
        return
    for device_id, result in zip(devices, results, strict=True):
        if isinstance(result, BaseException):
            log_event("error", "live_publish_failed", device_id=device_id, error=repr(result))


def schedule_fan_out(svc: Services, rows: Sequence[RawRow]) -> None:
    """From the webhook, after the batch is stored: defer the fan-out of its targets rows."""
    if svc.live is None or not rows:
        return
    grouped = targets_by_device(rows)
    if grouped:
        svc.defer(fan_out(svc, grouped))
