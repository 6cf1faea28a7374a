"""RS1_CACHE: a 5-minute cache of a device's view (GET /api/devices/{id}), forgotten on writes.

Cached: the device record and its zone-config versions — what the zone editor polls. Forgotten
by every write that changes them: presence (connect/disconnect/state), firmware version, config
acks and zone writes. Not forgotten by telemetry's `last_seen` bumps (every message; invalidating
there would leave nothing cached), so a cached `last_seen` may lag by up to TTL_S while `online`
stays exact. Per-caller parts (role) and OTA progress are never cached. Workers KV is eventually
consistent across locations (a delete can take up to ~60 s to reach another colo); within one
location a write is followed by a fresh read.
"""

import json
from typing import Any

from rs1.services import Services

TTL_S = 300
BINDING = "RS1_CACHE"


def cache_key(device_id: str) -> str:
    return f"device-view:v1:{device_id}"


async def recall(svc: Services, device_id: str) -> dict[str, Any] | None:
    kv = svc.kv.get(BINDING)
    raw = None if kv is None else await kv.get(cache_key(device_id))
    try:
        return None if raw is None else json.loads(raw)
    except ValueError:
        return None  # a damaged entry is a miss; the next read overwrites it


async def remember(svc: Services, device_id: str, view: dict[str, Any]) -> None:
    if (kv := svc.kv.get(BINDING)) is not None:
        await kv.put(cache_key(device_id), json.dumps(view), TTL_S)


async def forget(svc: Services, device_id: str) -> None:
    """Awaited, not deferred: the writer's next read must not see the old view."""
    if (kv := svc.kv.get(BINDING)) is not None:
        await kv.delete(cache_key(device_id))
