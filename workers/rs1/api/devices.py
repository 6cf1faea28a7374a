"""The caller's devices: list, detail, sharing (owners share as viewer, and unshare)."""

from pydantic import BaseModel, ConfigDict, Field

from rs1.api.auth import require_device, require_user
from rs1.devices import cache, ownership, store
from rs1.http.cursors import decode_cursor, encode_cursor, int_param, split_page
from rs1.http.errors import ApiError, bad_request
from rs1.http.messages import ApiRequest, ApiResponse, empty_response, json_response
from rs1.http.validation import parse_body
from rs1.services import Services
from rs1.text import PlainText
from rs1.zones import sync

PAGE = 50
MAX_PAGE = 500


def _after(raw: str | None) -> str:
    if not raw:
        return ""
    position = decode_cursor(raw)
    if not isinstance(position, dict) or not isinstance(position.get("after"), str):
        raise bad_request("'cursor' is not a cursor this API returned.")
    return position["after"]


async def list_devices(request: ApiRequest, svc: Services) -> ApiResponse:
    claims = await require_user(request, svc)
    online = request.query.get("online")
    if online not in (None, "true", "false"):
        raise bad_request("'online' must be true or false.")
    limit = int_param(request.query, "limit", PAGE, 1, MAX_PAGE)
    rows = await svc.db.all(
        "SELECT d.device_id, d.model, d.firmware_version, d.online, d.last_seen, "
        "d.config_version, o.role FROM device_ownership o JOIN devices d ON d.device_id = "
        "o.device_id WHERE o.user_id = ? AND d.device_id > ? AND (? IS NULL OR d.online = ?) "
        "ORDER BY d.device_id LIMIT ?",
        claims.sub,
        _after(request.query.get("cursor")),
        online,
        int(online == "true"),
        limit + 1,
    )
    page, more = split_page(rows, limit)
    items = [{**r, "online": bool(r["online"])} for r in page]
    cursor = encode_cursor({"after": items[-1]["device_id"]}) if more else None
    return json_response({"devices": items, "next_cursor": cursor})


async def get_device(request: ApiRequest, svc: Services, device_id: str) -> ApiResponse:
    _, role = await require_device(request, svc, device_id)
    view = await cache.recall(svc, device_id)
    hit = view is not None
    if view is None:
        view = await _device_view(svc, device_id)
        await cache.remember(svc, device_id, view)
    ota = await svc.db.all(
        "SELECT s.rollout_id, r.firmware_version, s.status, s.progress FROM ota_device_status s "
        "JOIN ota_rollouts r ON r.rollout_id = s.rollout_id WHERE s.device_id = ? AND "
        "r.status IN ('active', 'paused') AND s.status NOT IN ('skipped', 'cancelled')",
        device_id,
    )
    headers = {"x-cache": "hit" if hit else "miss"}
    return json_response({**view, "ota": ota, "role": role}, headers=headers)


async def _device_view(svc: Services, device_id: str) -> dict:
    """What every caller may see of the device (cached in RS1_CACHE)."""
    device = store.public_device(await store.get_device(svc.db, device_id))  # type: ignore[arg-type]
    desired = await sync.latest(svc.db, device_id)
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


async def _owner(request: ApiRequest, svc: Services, device_id: str) -> str:
    claims, role = await require_device(request, svc, device_id)
    if role not in ("owner", "admin"):
        raise ApiError(403, "forbidden", "Only the owner shares this device.")
    return claims.sub


async def share_device(request: ApiRequest, svc: Services, device_id: str) -> ApiResponse:
    me = await _owner(request, svc, device_id)
    body = parse_body(ShareBody, request)
    if body.user_id == me:
        raise bad_request("You already own this device.")
    await ownership.share(svc.db, device_id, body.user_id)
    return json_response({"device_id": device_id, "user_id": body.user_id, "role": "viewer"})


async def unshare_device(
    request: ApiRequest, svc: Services, device_id: str, user_id: str
) -> ApiResponse:
    await _owner(request, svc, device_id)
    await ownership.unshare(svc.db, device_id, user_id)
    return empty_response(204)
