"""POST /webhook/telemetry — EMQX's rule on opticworks/+/telemetry/#.

One envelope or a JSON array of envelopes (batched webhook), stored exactly once by
(device_id, message_id) in one D1 batch. A single bad envelope is a 4xx (EMQX does not retry
4xx); in a batch, valid envelopes are stored and the rejected ones listed by index. A storage
failure is a 503, which EMQX retries.
"""

from typing import Any

from rs1.devices import store
from rs1.http.errors import ApiError
from rs1.http.messages import ApiRequest, ApiResponse, json_response
from rs1.live.fanout import schedule_fan_out
from rs1.logs import log_event
from rs1.security_log import ACL_VIOLATION, record_security_event
from rs1.services import Services
from rs1.telemetry.ingest import RawRow, parse_envelope, statements, to_row
from rs1.webhooks.guard import require_webhook_secret

# Envelopes carry payloads of at most 4,096 characters: 200 of them fit TELEMETRY_BATCH_BODY.
MAX_BATCH = 200


async def _log_mismatch(svc: Services, item: Any, request: ApiRequest) -> None:
    item = item if isinstance(item, dict) else {}
    details = {
        "topic": str(item.get("topic", ""))[:256],
        "username": str(item.get("username", ""))[:64],
        "clientid": str(item.get("clientid", ""))[:64],
        "reason": "topic device differs from publisher",
    }
    await record_security_event(svc.db, ACL_VIOLATION, details, str(item.get("peerhost", "")))


async def _log_unknown(svc: Services, item: Any, device_id: str) -> None:
    item = item if isinstance(item, dict) else {}
    details = {"device_id": device_id, "topic": str(item.get("topic", ""))[:256],
               "reason": "telemetry for a device that is not enrolled"}  # fmt: skip
    log_event("warning", "telemetry_unknown_device", device_id=device_id)
    await record_security_event(svc.db, ACL_VIOLATION, details, str(item.get("peerhost", "")))


async def _rows(items: list[Any], svc: Services, request: ApiRequest):
    parsed: list[tuple[int, RawRow]] = []
    rejected: list[tuple[int, ApiError]] = []
    for index, item in enumerate(items):
        try:
            parsed.append((index, to_row(parse_envelope(item))))
        except ApiError as err:
            rejected.append((index, err))
            if err.code == "topic_mismatch":
                await _log_mismatch(svc, item, request)
    # EMQX authn keeps devices that are not enrolled out, so their telemetry means a
    # misconfigured or forged webhook: refused and logged, never stored.
    known = await store.known_device_ids(svc.db, [r.device_id for _, r in parsed])
    rows: list[RawRow] = []
    for index, row in parsed:
        if row.device_id in known:
            rows.append(row)
            continue
        message = f"Device {row.device_id} is not enrolled."
        rejected.append((index, ApiError(403, "unknown_device", message)))
        await _log_unknown(svc, items[index], row.device_id)
    rejected.sort(key=lambda pair: pair[0])
    return rows, rejected


async def telemetry(request: ApiRequest, svc: Services) -> ApiResponse:
    await require_webhook_secret(request, svc)
    data = request.json()
    batched = isinstance(data, list)
    items = data if batched else [data]
    if not items or len(items) > MAX_BATCH:
        raise ApiError(400, "invalid_batch", f"A batch holds 1 to {MAX_BATCH} envelopes.")
    rows, rejected = await _rows(items, svc, request)
    if rejected and (not batched or not rows):
        index, err = rejected[0]
        where = f"envelope {index}: " if batched else ""
        raise ApiError(err.status, err.code, where + err.message, details=err.details)
    await svc.db.batch(statements(rows))
    schedule_fan_out(svc, rows)  # stored: live watchers may see the targets (deferred)
    listed = [{"index": i, "error": e.code, "message": e.message} for i, e in rejected]
    return json_response({"accepted": len(rows), "rejected": listed})
