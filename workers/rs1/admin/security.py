"""GET /admin/security-log — the security log (rs1.security_log's events), newest first,
filtered by event type and paged with an opaque cursor."""

import json
from typing import Any

from rs1.auth.caller import Caller
from rs1.errors import BadParameter
from rs1.http.cursors import bindable_int, decode_cursor, encode_cursor, int_param, split_page
from rs1.messages import ApiRequest, ApiResponse, json_response
from rs1.monitoring import store
from rs1.services import Services
from rs1.storage.database import Row

MAX_TYPE = 64


def _before(raw: str | None) -> int | None:
    if not raw:
        return None
    position = decode_cursor(raw)
    if not bindable_int(position):
        raise BadParameter("'cursor' is not a cursor this API returned.")
    return position


def _details(text: str | None) -> Any:
    """The stored JSON object; text that is not JSON (written by hand) as it is."""
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def public(row: Row) -> dict[str, Any]:
    return {
        "id": row["id"],
        "event_type": row["event_type"],
        "details": _details(row["details"]),
        "ip": row["ip"] or None,
        "timestamp": row["timestamp"],
    }


async def list_security_log(request: ApiRequest, svc: Services, *, caller: Caller) -> ApiResponse:
    q = request.query
    limit = int_param(q, "limit", 100, 1, 500)
    event_type = q.get("type") or None
    if event_type is not None and len(event_type) > MAX_TYPE:
        raise BadParameter(f"'type' is at most {MAX_TYPE} characters.")
    rows = await store.security_events(svc.db, event_type, _before(q.get("cursor")), limit + 1)
    page, more = split_page(rows, limit)
    cursor = encode_cursor(page[-1]["id"]) if more else None
    return json_response({"events": [public(r) for r in page], "next_cursor": cursor})
