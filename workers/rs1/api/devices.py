"""The caller's devices: list, detail, sharing (owners share as viewer, and unshare)."""

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from rs1.audit.trail import AuditTrail
from rs1.auth.caller import Caller
from rs1.devices import cache, ownership_store, store
from rs1.errors import BadParameter, NotFound
from rs1.http.cursors import after_id, encode_cursor, int_param, split_page
from rs1.messages import ApiRequest, ApiResponse, empty_response, json_response
from rs1.ota import rollout_store
from rs1.services import Services
from rs1.text import PlainText
from rs1.zones import store as zone_store

PAGE = 50
MAX_PAGE = 500


async def list_devices(request: ApiRequest, svc: Services, *, caller: Caller) -> ApiResponse:
    claims = caller.claims
    online = request.query.get("online")
    if online not in (None, "true", "false"):
        raise BadParameter("'online' must be true or false.")
    limit = int_param(request.query, "limit", PAGE, 1, MAX_PAGE)
    rows = await ownership_store.list_for_user(
        svc.db,
        claims.sub,
        after=after_id(request.query.get("cursor")),
        online=None if online is None else online == "true",
        limit=limit + 1,
    )
    page, more = split_page(rows, limit)
    items = [{**r, "online": bool(r["online"])} for r in page]
    cursor = encode_cursor({"after": items[-1]["device_id"]}) if more else None
    return json_response({"devices": items, "next_cursor": cursor})


async def get_device(
    request: ApiRequest, svc: Services, device_id: str, *, caller: Caller
) -> ApiResponse:
    role = caller.device_role
    view = await cache.recall(svc, device_id)
    hit = view is not None
    if view is None:
        view = await _device_view(svc, device_id)
        await cache.remember(svc, device_id, view)
    ota = await rollout_store.active_for_device(svc.db, device_id)
    headers = {"x-cache": "hit" if hit else "miss"}
    return json_response({**view, "ota": ota, "role": role}, headers=headers)


async def _device_view(svc: Services, device_id: str) -> dict[str, Any]:
    """What every caller may see of the device (cached in RS1_CACHE)."""
    row = await store.get_device(svc.db, device_id)
    if row is None:  # the route's check found it; devices are never deleted, only revoked
        raise NotFound(f"No device {device_id}.")
    device = store.public_device(row)
    desired = await zone_store.latest(svc.db, device_id)
    pending = (
        desired["version"] if desired and desired["version"] > device["config_version"] else None
    )
    return {
        **{k: device[k] for k in ("device_id", "model", "firmware_version", "online")},
        "last_seen": device["last_seen"],
        "config_version": device["config_version"],
        "pending_config_version": pending,
    }


class ShareBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    user_id: PlainText = Field(min_length=1, max_length=128)


async def share_device(
    request: ApiRequest,
    svc: Services,
    device_id: str,
    *,
    caller: Caller,
    body: ShareBody,
    audit: AuditTrail,
) -> ApiResponse:
    audit.summary(after={"viewer": body.user_id})
    if body.user_id == caller.sub:
        raise BadParameter("You already own this device.")
    await ownership_store.share(svc.db, device_id, body.user_id)
    return json_response({"device_id": device_id, "user_id": body.user_id, "role": "viewer"})


async def unshare_device(
    request: ApiRequest,
    svc: Services,
    device_id: str,
    user_id: str,
    *,
    caller: Caller,
    audit: AuditTrail,
) -> ApiResponse:
    audit.summary(before={"viewer": user_id})
    await ownership_store.unshare(svc.db, device_id, user_id)
    return empty_response(204)


class TimeZoneBody(BaseModel):
    """The device's local time as an offset from UTC, for rollout maintenance windows; null
    goes back to the offset the device reports."""

    model_config = ConfigDict(extra="forbid")
    utc_offset_min: int | None = Field(ge=-720, le=840)


async def set_time_zone(
    request: ApiRequest,
    svc: Services,
    device_id: str,
    *,
    caller: Caller,
    body: TimeZoneBody,
    audit: AuditTrail,
) -> ApiResponse:
    audit.summary(after={"utc_offset_min": body.utc_offset_min})
    row = await store.set_owner_utc_offset(svc.db, device_id, body.utc_offset_min)
    if row is None:
        raise NotFound(f"No device {device_id}.")
    return json_response(
        {
            "device_id": device_id,
            "utc_offset_min": row["owner_utc_offset_min"],
            "reported_utc_offset_min": row["utc_offset_min"],
        }
    )
