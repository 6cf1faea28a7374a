"""/api/devices/{id}/zones — versioned zone configurations (owners write, viewers read).

GET  → desired config + version (also the ETag), applied version, last rejection, versions.
PUT  → needs If-Match: <version> (428 without, 409 on conflict); stores version+1 and pushes
       config/update to the device. POST .../zones/rollback {"version": n} re-publishes an
       older config as a new version (same If-Match rule).
"""

import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from rs1.audit.trail import AuditTrail
from rs1.auth.caller import Caller
from rs1.devices import cache, store
from rs1.errors import (
    BadParameter,
    Conflict,
    NotFound,
    PreconditionRequired,
)
from rs1.messages import ApiRequest, ApiResponse, json_response
from rs1.services import Services
from rs1.zones import store as zone_store
from rs1.zones import sync
from rs1.zones.model import ZoneConfig


class RollbackBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: int = Field(ge=1)


async def _view(svc: Services, device_id: str) -> dict[str, Any]:
    device = await store.get_device(svc.db, device_id)
    current = await zone_store.latest(svc.db, device_id)
    row = await zone_store.last_rejection(svc.db, device_id)
    rejection = None
    if row and row["config_rejected_version"] is not None:
        rejection = {
            "version": row["config_rejected_version"],
            "error": row["config_rejected_error"],
        }
    return {
        "device_id": device_id,
        "desired_version": current["version"] if current else 0,
        "applied_version": device["config_version"] if device else 0,
        "config": json.loads(current["config_json"]) if current else None,
        "updated_by": current["updated_by"] if current else None,
        "updated_at": current["updated_at"] if current else None,
        "last_rejection": rejection,
        "versions": await zone_store.versions(svc.db, device_id),
    }


def _etag(view: dict[str, Any]) -> dict[str, str]:
    return {"etag": f'"{view["desired_version"]}"'}


async def get_zones(
    request: ApiRequest, svc: Services, device_id: str, *, caller: Caller
) -> ApiResponse:
    view = await _view(svc, device_id)
    return json_response(view, headers=_etag(view))


def _if_match(request: ApiRequest) -> int:
    raw = request.header("if-match").strip().strip('"').removeprefix("W/").strip('"')
    if not raw:
        raise PreconditionRequired("Send If-Match: <current version>.")
    # ASCII digits only ("²".isdigit() is true too), and small enough for D1 to bind.
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 15):
        raise BadParameter("If-Match must be a version number.")
    return int(raw)


async def _store(
    request: ApiRequest,
    svc: Services,
    device_id: str,
    caller: Caller,
    config: ZoneConfig,
    audit: AuditTrail,
) -> ApiResponse:
    expected = _if_match(request)
    data = config.model_dump(mode="json", exclude_none=True)  # unset per-zone values stay unset
    audit.summary(before={"version": expected}, after={"version": expected + 1, "zones": data})
    if await sync.write(svc.db, device_id, expected, data, caller.sub) is None:
        raise Conflict("The zones changed meanwhile; reload and retry.", code="version_conflict")
    await cache.forget(svc, device_id)
    delivered = await sync.push(svc, device_id)
    view = await _view(svc, device_id)
    return json_response({**view, "delivered": delivered}, headers=_etag(view))


async def put_zones(
    request: ApiRequest,
    svc: Services,
    device_id: str,
    *,
    caller: Caller,
    body: ZoneConfig,
    audit: AuditTrail,
) -> ApiResponse:
    return await _store(request, svc, device_id, caller, body, audit)


async def rollback_zones(
    request: ApiRequest,
    svc: Services,
    device_id: str,
    *,
    caller: Caller,
    body: RollbackBody,
    audit: AuditTrail,
) -> ApiResponse:
    audit.summary(restored=body.version)
    old = await zone_store.version(svc.db, device_id, body.version)
    if old is None:
        raise NotFound(f"Version {body.version} is not kept (last 10 are).")
    config = ZoneConfig.model_validate(json.loads(old["config_json"]))
    return await _store(request, svc, device_id, caller, config, audit)
