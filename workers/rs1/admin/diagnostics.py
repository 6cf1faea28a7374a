"""Admin device search and remote diagnostics (diag/request → the device's telemetry/diag)."""

import json
import secrets

from pydantic import BaseModel, ConfigDict, Field
from rs1contract.payloads import DiagRequest
from rs1contract.topics import device_topic

from rs1.audit.trail import AuditTrail
from rs1.auth.caller import Caller
from rs1.devices import cohort_store, store
from rs1.emqx import Message, emqx_api
from rs1.errors import BadParameter, NotFound
from rs1.http.cursors import int_param, split_page
from rs1.identity.device_id import is_device_id
from rs1.messages import ApiRequest, ApiResponse, json_response
from rs1.query import parse_query
from rs1.services import Services
from rs1.telemetry import store as telemetry_store
from rs1.text import PlainText

PAGE = 100
MAX_PAGE = 1_000


async def list_devices(request: ApiRequest, svc: Services, *, caller: Caller) -> ApiResponse:
    """GET /admin/devices?q=&version=&online=&owner=&after= — filter and page the registry
    (`q`: a cohort query, README "Fleet targeting"; the other filters apply without it)."""
    q = request.query
    if q.get("online") not in (None, "true", "false"):
        raise BadParameter("'online' must be true or false.")
    limit = int_param(q, "limit", PAGE, 1, MAX_PAGE)
    if q.get("q"):
        now_ms = int(svc.clock() * 1000)
        query = parse_query(q["q"])
        rows = await cohort_store.search(
            svc.db, query, now_ms, after=q.get("after", ""), limit=limit + 1
        )
    else:
        rows = await store.search(
            svc.db,
            after=q.get("after", ""),
            version=q.get("version"),
            online=None if q.get("online") is None else q["online"] == "true",
            owner=q.get("owner"),
            limit=limit + 1,
        )
    page, more = split_page(rows, limit)
    items = [{**r, "online": bool(r["online"])} for r in page]
    after = items[-1]["device_id"] if more else None
    return json_response({"devices": items, "next_after": after})


class DiagBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: PlainText = Field(default="basic", max_length=32)


async def request_diag(
    request: ApiRequest,
    svc: Services,
    device_id: str,
    *,
    caller: Caller,
    body: DiagBody,
    audit: AuditTrail,
) -> ApiResponse:
    if not is_device_id(device_id) or await store.get_status(svc.db, device_id) is None:
        raise NotFound(f"No device {device_id}.")
    ask = new_request(body.kind)
    audit.summary(after={"request_id": ask.request_id, "kind": body.kind})
    await audit.commit()  # the request goes to the device, not to D1: record it first
    delivered = await _publish(svc, device_id, ask)
    return json_response({"request_id": ask.request_id, "delivered": delivered}, 202)


def new_request(kind: str) -> DiagRequest:
    return DiagRequest(request_id=secrets.token_hex(8), kind=kind)


async def _publish(svc: Services, device_id: str, ask: DiagRequest) -> bool:
    message = Message(device_topic(device_id, "diag", "request"), ask.model_dump())
    return await emqx_api(svc).publish(message)


async def send_diag(svc: Services, device_id: str, kind: str) -> str | None:
    """A diag/request to one device (the caller records it first); its request id when the
    broker delivered it."""
    ask = new_request(kind)
    return ask.request_id if await _publish(svc, device_id, ask) else None


async def get_diag(
    request: ApiRequest, svc: Services, device_id: str, request_id: str, *, caller: Caller
) -> ApiResponse:
    row = await telemetry_store.diag_answer(svc.telemetry_shards, device_id, request_id)
    if row is None:
        return json_response({"request_id": request_id, "status": "pending"})
    answer = json.loads(row["payload"])
    return json_response(
        {
            "request_id": request_id,
            "status": "answered",
            "received_at": row["received_at"],
            "result": answer.get("result"),
        }
    )
