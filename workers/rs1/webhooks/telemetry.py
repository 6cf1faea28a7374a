"""POST /webhook/telemetry — EMQX's rule on opticworks/+/telemetry/#.

One envelope (what EMQX 5's HTTP action sends: it does not batch) or a JSON array of them,
validated and authorised here, then queued for the ingest consumer (rs1.telemetry.consumer),
which stores each row exactly once by (device_id, message_id). A single bad envelope is a 4xx
(EMQX does not retry 4xx); in a batch, valid envelopes are accepted and the rejected ones
listed by index. A failed enqueue (or, unqueued, a failed store) is a 503, which EMQX retries.
"""

from typing import Any

from rs1.devices import store
from rs1.errors import DomainError, Forbidden, InvalidInput, TopicMismatch, Unavailable
from rs1.live.fanout import schedule_fan_out
from rs1.logs import log_event
from rs1.messages import ApiRequest, ApiResponse, json_response
from rs1.security_log import ACL_VIOLATION, record_security_event
from rs1.services import Services
from rs1.storage.queue import QueueError
from rs1.telemetry import store as telemetry_store
from rs1.telemetry.ingest import RawRow, parse_envelope, to_row
from rs1.telemetry.queue import BINDING as INGEST_QUEUE
from rs1.telemetry.queue import encode_row, sends

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


Rejection = tuple[int, DomainError]  # (index in the batch, why)


async def _rows(
    items: list[Any], svc: Services, request: ApiRequest
) -> tuple[list[RawRow], list[Rejection]]:
    parsed: list[tuple[int, RawRow]] = []
    rejected: list[Rejection] = []
    for index, item in enumerate(items):
        try:
            parsed.append((index, to_row(parse_envelope(item))))
        except DomainError as err:
            rejected.append((index, err))
            if isinstance(err, TopicMismatch):
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
        rejected.append((index, Forbidden(message, code="unknown_device")))
        await _log_unknown(svc, items[index], row.device_id)
    rejected.sort(key=lambda pair: pair[0])
    return rows, rejected


async def _ingest(svc: Services, rows: list[RawRow]) -> None:
    """Onto the ingest queue when the Worker binds one (production: the consumer stores them
    in batches); stored here, in one D1 batch, when it binds none. A refused enqueue is a 503:
    EMQX retries, and the rows are keyed, so a partly queued retry never duplicates one."""
    queue = svc.queues.get(INGEST_QUEUE)
    if queue is None:
        await telemetry_store.store_rows(svc.telemetry_shards, rows)
        return
    try:
        for bodies in sends([encode_row(r) for r in rows]):
            await queue.send_batch(bodies)
    except QueueError as exc:
        log_event("error", "telemetry_enqueue_failed", rows=len(rows), error=str(exc))
        raise Unavailable("The ingest queue is unavailable; retry later.") from exc


async def telemetry(request: ApiRequest, svc: Services) -> ApiResponse:
    data = request.json()
    batched = isinstance(data, list)
    items = data if batched else [data]
    if not items or len(items) > MAX_BATCH:
        raise InvalidInput(f"A batch holds 1 to {MAX_BATCH} envelopes.", code="invalid_batch")
    rows, rejected = await _rows(items, svc, request)
    if rejected and (not batched or not rows):
        index, err = rejected[0]
        where = f"envelope {index}: " if batched else ""
        raise err.prefixed(where)
    await _ingest(svc, rows)
    schedule_fan_out(svc, rows)  # accepted: live watchers may see the targets (deferred)
    listed = [{"index": i, "error": e.code, "message": e.message} for i, e in rejected]
    return json_response({"accepted": len(rows), "rejected": listed})
