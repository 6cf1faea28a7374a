"""Admin device search and remote diagnostics (diag/request → the device's telemetry/diag)."""

import json
import secrets

from pydantic import BaseModel, ConfigDict, Field

from rs1.admin.auth import require_admin
from rs1.devices import store
from rs1.emqx import Message, emqx_api
from rs1.http.cursors import int_param, split_page
from rs1.http.errors import bad_request, not_found
from rs1.http.messages import ApiRequest, ApiResponse, json_response
from rs1.http.validation import parse_body
from rs1.identity.device_id import is_device_id
from rs1.mqtt.payloads import DiagRequest
from rs1.mqtt.topics import device_topic
from rs1.services import Services
from rs1.text import PlainText

PAGE = 100
MAX_PAGE = 1_000


async def list_devices(request: ApiRequest, svc: Services) -> ApiResponse:
    """GET /admin/devices?version=&online=&owner=&after= — filter and page the registry."""
    await require_admin(request, svc)
    q = request.query
    if q.get("online") not in (None, "true", "false"):
        raise bad_request("'online' must be true or false.")
    online = None if q.get("online") is None else int(q["online"] == "true")
    limit = int_param(q, "limit", PAGE, 1, MAX_PAGE)
    rows = await svc.db.all(
        "SELECT d.device_id, d.mac_address, d.model, d.firmware_version, d.online, d.last_seen, "
        "d.status, d.config_version FROM devices d WHERE d.device_id > ? "
        "AND (? IS NULL OR d.firmware_version = ?) AND (? IS NULL OR d.online = ?) "
        "AND (? IS NULL OR EXISTS (SELECT 1 FROM device_ownership o WHERE "
        "o.device_id = d.device_id AND o.user_id = ?)) ORDER BY d.device_id LIMIT ?",
        q.get("after", ""), q.get("version"), q.get("version"), online, online,
        q.get("owner"), q.get("owner"), limit + 1,
    )  # fmt: skip
    page, more = split_page(rows, limit)
    items = [{**r, "online": bool(r["online"])} for r in page]
    after = items[-1]["device_id"] if more else None
    return json_response({"devices": items, "next_after": after})


class DiagBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: PlainText = Field(default="basic", max_length=32)


async def request_diag(request: ApiRequest, svc: Services, device_id: str) -> ApiResponse:
    await require_admin(request, svc)
    if not is_device_id(device_id) or await store.get_status(svc.db, device_id) is None:
        raise not_found(f"No device {device_id}.")
    body = parse_body(DiagBody, request) if request.body else DiagBody()
    ask = DiagRequest(request_id=secrets.token_hex(8), kind=body.kind)
    message = Message(device_topic(device_id, "diag", "request"), ask.model_dump())
    delivered = await emqx_api(svc).publish(message)
    return json_response({"request_id": ask.request_id, "delivered": delivered}, 202)


async def get_diag(
    request: ApiRequest, svc: Services, device_id: str, request_id: str
) -> ApiResponse:
    await require_admin(request, svc)
    row = await svc.db.first(
        "SELECT payload, received_at FROM telemetry_raw WHERE device_id = ? AND kind = 'diag' "
        "AND json_extract(payload, '$.request_id') = ? ORDER BY received_at LIMIT 1",
        device_id,
        request_id,
    )
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
