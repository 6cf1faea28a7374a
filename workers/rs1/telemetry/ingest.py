"""Turn EMQX telemetry envelopes into raw rows and the statements that store them.

Pure: validation and row building run on CPython in tests; `statements` is the SQL.
"""

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from rs1.http.errors import ApiError
from rs1.http.validation import json_object, validate
from rs1.identity.device_id import is_device_id
from rs1.mqtt.payloads import TELEMETRY_KINDS
from rs1.mqtt.topics import ROOT, TELEMETRY
from rs1.mqtt.webhook_models import PublishEnvelope
from rs1.storage.database import Statement
from rs1.timefmt import iso_ms

HOUR_MS = 3_600_000
ROWS_PER_INSERT = 12  # 8 params a row: D1 binds at most 100 per statement
PAIRS_PER_STATEMENT = 50  # 2 params a pair


@dataclass(frozen=True)
class RawRow:
    device_id: str
    message_id: str
    kind: str
    topic: str
    ts: int
    received_at: int
    payload: str

    @property
    def hour(self) -> int:
        return self.received_at // HOUR_MS

    def as_record(self) -> dict[str, Any]:
        """The archived form: one JSON object per line, payload embedded as JSON."""
        return {
            "device_id": self.device_id,
            "message_id": self.message_id,
            "kind": self.kind,
            "topic": self.topic,
            "ts": self.ts,
            "received_at": self.received_at,
            "payload": json.loads(self.payload),
        }


def parse_envelope(data: Any) -> PublishEnvelope:
    return validate(PublishEnvelope, data, "invalid_envelope", "envelope")


def _topic_kind(envelope: PublishEnvelope) -> tuple[str, str]:
    levels = envelope.topic.split("/")
    if len(levels) < 4 or levels[0] != ROOT or levels[2] != TELEMETRY or "" in levels[3:]:
        raise ApiError(400, "invalid_topic", f"Not a telemetry topic: {envelope.topic!r}.")
    device_id = levels[1]
    if not is_device_id(device_id):
        raise ApiError(400, "invalid_topic", f"Topic {envelope.topic!r} names no device.")
    if device_id != envelope.username or device_id != envelope.clientid:
        raise ApiError(403, "topic_mismatch", "The topic's device is not the publisher.")
    return device_id, "/".join(levels[3:])


def _payload(envelope: PublishEnvelope, kind: str) -> dict[str, Any]:
    data = json_object(envelope.payload, "invalid_payload", "payload")
    model = TELEMETRY_KINDS.get(kind)
    if model is None:  # never stored as opaque: a kind the cloud does not know is refused
        known = ", ".join(sorted(TELEMETRY_KINDS))
        raise ApiError(400, "unknown_kind", f"Telemetry kind {kind!r} is not one of: {known}.")
    validate(model, data, "invalid_payload", f"{kind} payload")
    return data


def to_row(envelope: PublishEnvelope) -> RawRow:
    device_id, kind = _topic_kind(envelope)
    data = _payload(envelope, kind)
    message_id = data.get("message_id") or envelope.id
    if not isinstance(message_id, str) or not message_id or len(message_id) > 64:
        raise ApiError(400, "invalid_payload", "No usable message_id (payload or envelope id).")
    received_at = envelope.publish_received_at or envelope.timestamp
    ts = data.get("ts") if isinstance(data.get("ts"), int) else received_at
    payload = json.dumps(data, sort_keys=True, separators=(",", ":"))
    return RawRow(device_id, message_id, kind, envelope.topic, ts, received_at, payload)


def _insert(rows: Sequence[RawRow]) -> Statement:
    values = ",".join("(?, ?, ?, ?, ?, ?, ?, ?)" for _ in rows)
    params = tuple(
        v
        for r in rows
        for v in (
            r.device_id,
            r.message_id,
            r.kind,
            r.topic,
            r.ts,
            r.received_at,
            r.hour,
            r.payload,
        )
    )
    # The earliest (received_at, payload) wins: commutative, so order never matters.
    return Statement(
        "INSERT INTO telemetry_raw "
        "(device_id, message_id, kind, topic, ts, received_at, hour, payload) "
        f"VALUES {values} ON CONFLICT (device_id, message_id) DO UPDATE SET "
        "kind = excluded.kind, topic = excluded.topic, ts = excluded.ts, "
        "received_at = excluded.received_at, hour = excluded.hour, payload = excluded.payload "
        "WHERE (excluded.received_at, excluded.payload) < "
        "(telemetry_raw.received_at, telemetry_raw.payload)",
        params,
    )


def _mark_dirty(pairs: Sequence[tuple[str, int]]) -> Statement:
    values = ",".join("(?, ?)" for _ in pairs)
    return Statement(
        f"INSERT INTO telemetry_dirty (device_id, hour) VALUES {values} "
        "ON CONFLICT (device_id, hour) DO UPDATE SET gen = gen + 1",
        tuple(v for pair in pairs for v in pair),
    )


def _last_seen(seen: Sequence[tuple[str, str]]) -> Statement:
    values = ",".join("(?, ?)" for _ in seen)
    return Statement(
        f"WITH seen (device_id, at) AS (VALUES {values}) "
        "UPDATE devices SET last_seen = MAX(COALESCE(last_seen, ''), "
        "(SELECT at FROM seen WHERE seen.device_id = devices.device_id)) "
        "WHERE device_id IN (SELECT device_id FROM seen)",
        tuple(v for pair in seen for v in pair),
    )


def _chunks(items: Sequence, size: int) -> list[Sequence]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def statements(rows: Sequence[RawRow]) -> list[Statement]:
    """Raw inserts, dirty markers per (device, hour), last_seen per device: a few multi-row
    statements for one D1 batch (statement count, not row count, is what costs)."""
    dirty = sorted({(r.device_id, r.hour) for r in rows})
    newest: dict[str, int] = {}
    for r in rows:
        newest[r.device_id] = max(newest.get(r.device_id, 0), r.received_at)
    seen = [(device_id, iso_ms(at)) for device_id, at in sorted(newest.items())]
    return (
        [_insert(chunk) for chunk in _chunks(rows, ROWS_PER_INSERT)]
        + [_mark_dirty(chunk) for chunk in _chunks(dirty, PAIRS_PER_STATEMENT)]
        + [_last_seen(chunk) for chunk in _chunks(seen, PAIRS_PER_STATEMENT)]
    )
