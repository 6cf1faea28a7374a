"""RS1_CACHE: a 5-minute cache of a device's view (GET /api/devices/{id}), forgotten on writes.

Cached: the device record and its zone-config versions — what the zone editor polls. Forgotten
by every write that changes them: presence (connect/disconnect/state), firmware version, config
acks and zone writes. Not forgotten by telemetry's `last_seen` bumps (every message; invalidating
there would leave nothing cached), so a cached `last_seen` may lag by up to TTL_S while `online`
stays exact. Per-caller parts (role) and OTA progress are never cached. Workers KV is eventually
consistent across locations (a delete can take up to ~60 s to reach another colo); within one
location a write is followed by a fresh read.

A reader that read D1 just before a write may store the old view just after the writer's
delete; so the writer deletes again AGAIN_S later (after its response, with ctx.waitUntil).
The cache is an optimisation: a KV failure is a miss (logged), never a failed request.
"""

import asyncio
import json
from typing import Any

from rs1.logs import log_event
from rs1.services import Services
from rs1.storage.database import StorageError

TTL_S = 300
AGAIN_S = 1.0
BINDING = "RS1_CACHE"


def cache_key(device_id: str) -> str:
    return f"device-view:v1:{device_id}"


def _failed(action: str, device_id: str, exc: Exception) -> None:
    log_event("warning", "device_cache_failed", action=action, device_id=device_id, error=str(exc))


async def recall(svc: Services, device_id: str) -> dict[str, Any] | None:
    kv = svc.kv.get(BINDING)
    try:
        raw = None if kv is None else await kv.get(cache_key(device_id))
        return None if raw is None else json.loads(raw)
    except (StorageError, ValueError) as exc:  # a damaged entry or a KV failure is a miss
        _failed("recall", device_id, exc)
        return None


async def remember(svc: Services, device_id: str, view: dict[str, Any]) -> None:
    if (kv := svc.kv.get(BINDING)) is not None:
        try:
            await kv.put(cache_key(device_id), json.dumps(view), TTL_S)
        except StorageError as exc:
            _failed("remember", device_id, exc)


async def _delete(svc: Services, device_id: str) -> None:
    if (kv := svc.kv.get(BINDING)) is not None:
        try:
            await kv.delete(cache_key(device_id))
        except StorageError as exc:
            _failed("forget", device_id, exc)


async def _delete_later(svc: Services, device_id: str) -> None:
    await asyncio.sleep(AGAIN_S)
    await _delete(svc, device_id)


async def forget(svc: Services, device_id: str) -> None:
    """Awaited, not deferred: the writer's next read must not see the old view. Once more
    AGAIN_S later, after a reader that raced this write."""
    await _delete(svc, device_id)
    svc.defer(_delete_later(svc, device_id))
