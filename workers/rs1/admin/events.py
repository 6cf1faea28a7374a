"""Outbound events for admins: endpoints (their secret shown once), the event log, deliveries
and their attempts, redelivery."""

import json
import secrets
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from rs1.audit.trail import AuditTrail
from rs1.auth.caller import Caller
from rs1.errors import BadParameter, NotFound, Unavailable
from rs1.events import endpoints as rules
from rs1.events import signing, store
from rs1.http.cursors import (
    MAX_BINDABLE,
    bad_cursor,
    bindable_int,
    decode_cursor,
    encode_cursor,
    int_param,
    split_page,
)
from rs1.messages import ApiRequest, ApiResponse, empty_response, json_response
from rs1.services import Services
from rs1.text import PlainText
from rs1.timefmt import iso_ms

STATUSES = ("pending", "delivered", "dead")


class EndpointBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: str = Field(min_length=8, max_length=2048)
    event_types: list[str] = Field(min_length=1, max_length=32)
    description: PlainText = Field(default="", max_length=200)


class EndpointPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: str | None = Field(default=None, min_length=8, max_length=2048)
    event_types: list[str] | None = Field(default=None, min_length=1, max_length=32)
    description: PlainText | None = Field(default=None, max_length=200)
    enabled: bool | None = None


def _endpoint(row: dict[str, Any]) -> dict[str, Any]:
    return {**row, "event_types": json.loads(row["event_types"]), "enabled": bool(row["enabled"])}


def _production(svc: Services) -> bool:
    return svc.settings.environment == "production"


async def create_endpoint(
    request: ApiRequest, svc: Services, *, caller: Caller, body: EndpointBody, audit: AuditTrail
) -> ApiResponse:
    row = {
        "endpoint_id": "ep_" + secrets.token_hex(8),
        "url": rules.check_url(body.url, _production(svc)),
        "description": body.description,
        "event_types": rules.check_types(body.event_types),
        "created_by": caller.sub,
        "created_at": iso_ms(svc.clock() * 1000),
    }
    if not svc.settings.events_secret:
        raise Unavailable("Outbound events are not configured (EVENTS_SECRET).")
    secret = signing.endpoint_secret(svc.settings.events_secret, row["endpoint_id"])
    audit.target("event_endpoint", row["endpoint_id"])
    audit.summary(after={k: row[k] for k in ("url", "event_types", "description")})
    await store.add_endpoint(svc.db, row)
    created = await store.endpoint(svc.db, row["endpoint_id"])
    return json_response({**_endpoint(created or row), "secret": secret}, 201)


async def list_endpoints(request: ApiRequest, svc: Services, *, caller: Caller) -> ApiResponse:
    rows = await store.endpoints(svc.db)
    return json_response({"endpoints": [_endpoint(r) for r in rows]})


async def _existing(svc: Services, endpoint_id: str) -> dict[str, Any]:
    row = await store.endpoint(svc.db, endpoint_id)
    if row is None:
        raise NotFound(f"No event endpoint {endpoint_id}.")
    return _endpoint(row)


async def update_endpoint(
    request: ApiRequest,
    svc: Services,
    endpoint_id: str,
    *,
    caller: Caller,
    body: EndpointPatch,
    audit: AuditTrail,
) -> ApiResponse:
    before = await _existing(svc, endpoint_id)
    changes = body.model_dump(exclude_none=True)
    if "url" in changes:
        changes["url"] = rules.check_url(changes["url"], _production(svc))
    if "event_types" in changes:
        changes["event_types"] = rules.check_types(changes["event_types"])
    audit.summary(before={k: before[k] for k in changes}, after=changes)
    if not await store.update_endpoint(svc.db, endpoint_id, changes):
        raise NotFound(f"No event endpoint {endpoint_id}.")
    return json_response(await _existing(svc, endpoint_id))


async def delete_endpoint(
    request: ApiRequest, svc: Services, endpoint_id: str, *, caller: Caller, audit: AuditTrail
) -> ApiResponse:
    before = await _existing(svc, endpoint_id)
    audit.summary(before={k: before[k] for k in ("url", "event_types")})
    if not await store.delete_endpoint(svc.db, endpoint_id, iso_ms(svc.clock() * 1000)):
        raise NotFound(f"No event endpoint {endpoint_id}.")
    return empty_response(204)


def _event(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["event_id"],
        "type": row["type"],
        "created_at": row["created_at"],
        "data": json.loads(row["data"]),
    }


def _since_ms(raw: str | None) -> int | None:
    if not raw:
        return None
    # ASCII digits only ("²".isdigit() is true too), and small enough for D1 to bind.
    if raw.isascii() and raw.isdigit() and int(raw) <= MAX_BINDABLE:
        return int(raw)
    raise BadParameter(f"'since' must be unix milliseconds, at most {MAX_BINDABLE}.")


def _event_cursor(raw: str | None) -> tuple[int, str] | None:
    if not raw:
        return None
    position = decode_cursor(raw)
    if not (isinstance(position, list) and len(position) == 2 and bindable_int(position[0])
            and isinstance(position[1], str)):  # fmt: skip
        raise bad_cursor()
    return position[0], position[1]


async def list_events(request: ApiRequest, svc: Services, *, caller: Caller) -> ApiResponse:
    q = request.query
    limit = int_param(q, "limit", 100, 1, 500)
    before = _event_cursor(q.get("cursor"))
    rows = await store.events_page(svc.db, q.get("type"), _since_ms(q.get("since")), before,
                                   limit + 1)  # fmt: skip
    page, more = split_page(rows, limit)
    cursor = encode_cursor([page[-1]["created_ms"], page[-1]["event_id"]]) if more else None
    return json_response({"events": [_event(r) for r in page], "next_cursor": cursor})


def _delivery(row: dict[str, Any]) -> dict[str, Any]:
    def at(ms: int | None) -> str | None:
        return None if ms is None else iso_ms(ms)

    out = {k: row[k] for k in ("delivery_id", "event_id", "endpoint_id", "event_type", "status",
                               "attempts", "last_status", "last_error")}  # fmt: skip
    pending = row["status"] == "pending"
    out["next_attempt_at"] = at(row["next_attempt_ms"]) if pending else None
    out["last_attempt_at"] = at(row["last_attempt_ms"])
    out["delivered_at"] = at(row["delivered_ms"])
    return out


async def list_deliveries(request: ApiRequest, svc: Services, *, caller: Caller) -> ApiResponse:
    q = request.query
    if q.get("status") not in (None, "", *STATUSES):
        raise BadParameter(f"'status' must be one of {', '.join(STATUSES)}.")
    limit = int_param(q, "limit", 100, 1, 500)
    after = decode_cursor(q["cursor"]) if q.get("cursor") else None
    if after is not None and not isinstance(after, str):
        raise bad_cursor()
    filters = {k: q.get(k) or None for k in ("event_id", "endpoint_id", "status")}
    rows = await store.deliveries_page(svc.db, filters, after, limit + 1)
    page, more = split_page(rows, limit)
    cursor = encode_cursor(page[-1]["delivery_id"]) if more else None
    return json_response({"deliveries": [_delivery(r) for r in page], "next_cursor": cursor})


async def list_attempts(
    request: ApiRequest, svc: Services, delivery_id: str, *, caller: Caller
) -> ApiResponse:
    rows = await store.attempts(svc.db, delivery_id)
    shown = [{**{k: r[k] for k in ("attempt", "status", "error", "duration_ms")},
              "at": iso_ms(r["at_ms"])} for r in rows]  # fmt: skip
    return json_response({"attempts": shown})


async def redeliver_event(
    request: ApiRequest, svc: Services, event_id: str, *, caller: Caller, audit: AuditTrail
) -> ApiResponse:
    if await store.event(svc.db, event_id) is None:
        raise NotFound(f"No event {event_id}.")
    audit.summary(after={"redelivered": event_id})
    deliveries = await store.redeliver(svc.db, event_id, int(svc.clock() * 1000))
    return json_response({"event_id": event_id, "deliveries": deliveries}, 202)
