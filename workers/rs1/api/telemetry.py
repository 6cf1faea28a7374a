"""GET /api/devices/{id}/telemetry?from=&to=&resolution=raw|hour&limit=&cursor=

Owners (and viewers, and admins) read a device's telemetry: raw rows from the hot table
(7 days) or hourly rollups. Times are unix ms; pages follow `next_cursor`.
"""

import json
from typing import Any

from rs1.auth.caller import Caller
from rs1.errors import BadParameter
from rs1.http.cursors import (
    bad_cursor,
    bindable_int,
    decode_cursor,
    encode_cursor,
    int_param,
    split_page,
)
from rs1.messages import ApiRequest, ApiResponse, json_response
from rs1.services import Services
from rs1.telemetry import store
from rs1.telemetry.ingest import HOUR_MS

MAX_LIMIT = 1_000
Position = tuple[int, str]  # where a page ended: (received_at or hour, message_id)


def _after(raw: str) -> Position:
    """(received_at or hour, message_id) from a cursor; bounded, so D1 can bind them."""
    position = decode_cursor(raw)
    valid = (
        isinstance(position, list)
        and len(position) == 2
        and bindable_int(position[0])
        and isinstance(position[1], str)
        and len(position[1]) <= 64
    )
    if not valid:
        raise bad_cursor()
    return position[0], position[1]


async def _raw(
    svc: Services, device_id: str, start: int, end: int, limit: int, after: Position
) -> list[dict[str, Any]]:
    rows = await store.raw_page(svc.telemetry_shards, device_id, start, end, after, limit)
    return [{**r, "payload": json.loads(r["payload"])} for r in rows]


async def _hourly(
    svc: Services, device_id: str, start: int, end: int, limit: int, after: Position
) -> list[dict[str, Any]]:
    # Every hour that overlaps [start, end): the first one's start may precede `start`.
    first, last = start // HOUR_MS, -(-end // HOUR_MS)
    rows = await store.hourly_page(svc.telemetry_shards, device_id, first, last, after[0], limit)
    return [
        {
            "hour_start": r["hour"] * HOUR_MS,
            "message_count": r["message_count"],
            "max_target_count": r["max_target_count"],
            "occupancy": json.loads(r["occupancy_json"]),
            "metrics": json.loads(r["metrics_json"]),
        }
        for r in rows
    ]


async def device_telemetry(
    request: ApiRequest, svc: Services, device_id: str, *, caller: Caller
) -> ApiResponse:
    q = request.query
    now = int(svc.clock() * 1000)
    end = int_param(q, "to", now + 1, 0, 10**13)
    start = int_param(q, "from", end - 24 * HOUR_MS, 0, 10**13)
    limit = int_param(q, "limit", 100, 1, MAX_LIMIT)
    resolution = q.get("resolution", "raw")
    if resolution not in ("raw", "hour"):
        raise BadParameter("'resolution' must be 'raw' or 'hour'.")
    after = _after(q["cursor"]) if q.get("cursor") else (-1, "")
    fetch = _raw if resolution == "raw" else _hourly
    # One row past the page tells whether another page exists (no empty last page).
    rows: list[dict[str, Any]] = await fetch(svc, device_id, start, end, limit + 1, after)
    items, more = split_page(rows, limit)
    next_cursor = None
    if more:
        last = items[-1]
        position = (
            [last["received_at"], last["message_id"]]
            if resolution == "raw"
            else [last["hour_start"] // HOUR_MS, ""]
        )
        next_cursor = encode_cursor(position)
    body = {"device_id": device_id, "resolution": resolution, "items": items}
    return json_response({**body, "next_cursor": next_cursor})
