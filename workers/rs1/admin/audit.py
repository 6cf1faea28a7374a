"""GET /admin/audit (filter, page), the daily exports and their files."""

import re

from rs1.audit import store
from rs1.audit.export import object_key
from rs1.auth.caller import Caller
from rs1.errors import BadParameter, NotFound
from rs1.http.cursors import bindable_int, decode_cursor, encode_cursor, int_param, split_page
from rs1.messages import ApiRequest, ApiResponse, json_response
from rs1.services import Services

DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
FILTERS = ("actor", "target", "action", "since", "until")


def _after(raw: str | None) -> int | None:
    if not raw:
        return None
    seq = decode_cursor(raw)
    if not bindable_int(seq):
        raise BadParameter("'cursor' is not a cursor this API returned.")
    return seq


async def list_audit(request: ApiRequest, svc: Services, *, caller: Caller) -> ApiResponse:
    q = request.query
    limit = int_param(q, "limit", 100, 1, 500)
    filters = {name: q[name] for name in FILTERS if q.get(name)}
    rows = await store.search(svc.db, filters, _after(q.get("cursor")), limit + 1)
    page, more = split_page(rows, limit)
    cursor = encode_cursor(page[-1]["seq"]) if more else None
    return json_response({"records": [store.public(r) for r in page], "next_cursor": cursor})


async def list_exports(request: ApiRequest, svc: Services, *, caller: Caller) -> ApiResponse:
    return json_response({"exports": await store.exports(svc.db)})


async def get_export(
    request: ApiRequest, svc: Services, day: str, *, caller: Caller
) -> ApiResponse:
    if not DAY.match(day) or await store.export_of(svc.db, day) is None:
        raise NotFound(f"No audit export for {day}.")
    data = await svc.blobs["BACKUPS"].get_bytes(object_key(day))
    if data is None:  # recorded but the file is gone: say so, verify will too
        raise NotFound(f"The audit export file for {day} is missing.", code="export_missing")
    return ApiResponse(200, data, {"content-type": "application/x-ndjson"})
