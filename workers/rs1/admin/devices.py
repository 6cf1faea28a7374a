"""Admin device calls: enrolment (single and factory batches), lookup, revoke/enable."""

import asyncio
from contextlib import suppress
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from rs1.audit.trail import AuditTrail
from rs1.auth.caller import Caller
from rs1.devices import access_cache, store, tags_store
from rs1.devices.enrollment import EnrollItem, enroll
from rs1.emqx import emqx_api
from rs1.errors import Conflict, InvalidInput, NotFound
from rs1.identity.device_id import InvalidMac, device_id_from_mac, is_device_id, normalize_mac
from rs1.logs import log_event
from rs1.messages import ApiRequest, ApiResponse, json_response
from rs1.services import Services
from rs1.text import PlainText
from rs1.timefmt import utc_now_iso

MAX_BATCH = 10_000
MODEL = Field(default=None, max_length=32, pattern=r"^[A-Za-z0-9._-]+$")


class EnrollBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    mac_address: str = Field(max_length=32)
    model: str | None = MODEL
    rotate: bool = False


class BatchItem(BaseModel):
    model_config = ConfigDict(extra="forbid")
    mac_address: str = Field(max_length=32)
    model: str | None = MODEL


class BatchBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    devices: list[BatchItem] = Field(min_length=1, max_length=MAX_BATCH)
    rotate: bool = False


def _rotate_flag(request: ApiRequest, body_flag: bool) -> bool:
    return body_flag or request.query.get("rotate", "").lower() in ("1", "true", "yes")


async def enroll_device(
    request: ApiRequest, svc: Services, *, caller: Caller, body: EnrollBody, audit: AuditTrail
) -> ApiResponse:
    rotate = _rotate_flag(request, body.rotate)
    item = EnrollItem(body.mac_address, body.model)
    with suppress(InvalidMac):  # answered 400 below, with nothing written
        audit.target("device", device_id_from_mac(normalize_mac(body.mac_address)))
    audit.summary(after={"mac_address": body.mac_address, "model": body.model, "rotate": rotate})
    at_ms = int(svc.clock() * 1000)
    result = await enroll(svc.db, svc.settings.device_master_key, [item], rotate, at_ms)
    if result.invalid:
        raise InvalidInput(result.invalid[0]["message"], code="invalid_mac")
    if result.conflicts:
        conflict = result.conflicts[0]
        message = f"MAC {conflict['mac_address']} is already enrolled; pass rotate=true."
        raise Conflict(message, code="already_enrolled", details=conflict)
    enrolled = result.enrolled[0]
    return json_response(enrolled, 200 if enrolled["key_generation"] > 1 else 201)


async def enroll_batch(
    request: ApiRequest, svc: Services, *, caller: Caller, body: BatchBody, audit: AuditTrail
) -> ApiResponse:
    items = [EnrollItem(d.mac_address, d.model) for d in body.devices]
    rotate = _rotate_flag(request, body.rotate)
    audit.target("enrolment_batch", f"{len(items)} devices")
    audit.summary(after={"devices": len(items), "rotate": rotate})
    at_ms = int(svc.clock() * 1000)
    result = await enroll(svc.db, svc.settings.device_master_key, items, rotate, at_ms)
    audit.summary(enrolled=len(result.enrolled), conflicts=len(result.conflicts))
    return json_response(
        {"enrolled": result.enrolled, "conflicts": result.conflicts, "invalid": result.invalid}
    )


def _device_id(device_id: str) -> str:
    if not is_device_id(device_id):
        raise NotFound(f"No device {device_id}.")
    return device_id


async def get_device(
    request: ApiRequest, svc: Services, device_id: str, *, caller: Caller
) -> ApiResponse:
    row = await store.get_device(svc.db, _device_id(device_id))
    if row is None:
        raise NotFound(f"No device {device_id}.")
    tags = await tags_store.tags_of(svc.db, device_id)
    return json_response({**store.public_device(row), "tags": tags})


async def _end_session(svc: Services, device_id: str) -> str:
    try:
        return "ended" if await emqx_api(svc).kick(device_id) else "not_connected"
    except Exception as exc:  # noqa: BLE001 — revocation stands; authn/authz deny regardless
        log_event("error", "emqx_kick_failed", device_id=device_id, exception=repr(exc))
        return "failed"


async def _end_session_again(svc: Services, device_id: str) -> None:
    """The second kick of a revocation, once no isolate's access cache can admit the device:
    each entry that could was made before the revoke and lives at most MAX_TTL_S, whatever
    AUTH_CACHE_TTL_S the telemetry Worker (whose cache it is) has (rs1.devices.access_cache).
    A reconnect one of them let in ends here; a device re-enabled meanwhile is left alone."""
    await asyncio.sleep(access_cache.MAX_TTL_S + access_cache.KICK_AGAIN_S)
    found = await store.get_status(svc.db, device_id)
    if found is not None and found[0] == store.REVOKED:
        await _end_session(svc, device_id)


async def revoke_one(svc: Services, device_id: str, audit: AuditTrail) -> str | None:
    """Revoke and end its session (kicked again once no access cache can admit it): how the
    session ended, or None for an unknown device."""
    at = utc_now_iso()
    audit.emit(store.revoked_event(device_id, at, audit.at_ms))
    if not await store.set_status(svc.db, device_id, store.REVOKED, at):
        return None
    access_cache.forget(device_id)  # this isolate's (the OTA pull path's); others expire
    session = await _end_session(svc, device_id)
    svc.defer(_end_session_again(svc, device_id))
    return session


async def revoke_device(
    request: ApiRequest, svc: Services, device_id: str, *, caller: Caller, audit: AuditTrail
) -> ApiResponse:
    audit.summary(after={"status": store.REVOKED})
    session = await revoke_one(svc, _device_id(device_id), audit)
    if session is None:
        raise NotFound(f"No device {device_id}.")
    return json_response({"device_id": device_id, "status": store.REVOKED, "session": session})


async def enable_device(
    request: ApiRequest, svc: Services, device_id: str, *, caller: Caller, audit: AuditTrail
) -> ApiResponse:
    audit.summary(after={"status": store.ACTIVE})
    if not await store.set_status(svc.db, _device_id(device_id), store.ACTIVE, utc_now_iso()):
        raise NotFound(f"No device {device_id}.")
    return json_response({"device_id": device_id, "status": store.ACTIVE})


TAG_KEY = r"^[a-z0-9][a-z0-9_.-]{0,31}$"


class TagsBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    set: dict[Annotated[str, Field(pattern=TAG_KEY)], PlainText] = Field(
        default_factory=dict, max_length=32
    )
    remove: list[Annotated[str, Field(pattern=TAG_KEY)]] = Field(
        default_factory=list, max_length=32
    )

    @model_validator(mode="after")
    def _values(self) -> "TagsBody":
        if any(len(v) > 64 for v in self.set.values()):
            raise ValueError("tag values are at most 64 characters")
        if set(self.set) & set(self.remove):
            raise ValueError("a key cannot be both set and removed")
        return self


async def set_tags(
    request: ApiRequest,
    svc: Services,
    device_id: str,
    *,
    caller: Caller,
    body: TagsBody,
    audit: AuditTrail,
) -> ApiResponse:
    if not await store.exists(svc.db, _device_id(device_id)):
        raise NotFound(f"No device {device_id}.")
    before = await tags_store.tags_of(svc.db, device_id)
    after = {k: v for k, v in before.items() if k not in body.remove} | body.set
    audit.summary(before=before, after=after)
    await tags_store.change(svc.db, device_id, body.set, body.remove)
    return json_response(
        {"device_id": device_id, "tags": await tags_store.tags_of(svc.db, device_id)}
    )
