"""Turn EMQX telemetry envelopes into raw rows (rs1.telemetry.store stores them).

Pure: validation and row building run on CPython in tests.
"""

import json
from dataclasses import dataclass
from typing import Any

from rs1contract.payloads import TELEMETRY_KINDS
from rs1contract.topics import ROOT, TELEMETRY

from rs1.errors import InvalidInput
from rs1.mqtt.webhook_models import PublishEnvelope
from rs1.telemetry.publisher import publishing_device
from rs1.validation import json_object, validate

HOUR_MS = 3_600_000


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
        raise InvalidInput(f"Not a telemetry topic: {envelope.topic!r}.", code="invalid_topic")
    return publishing_device(envelope), "/".join(levels[3:])


def _payload(envelope: PublishEnvelope, kind: str) -> dict[str, Any]:
    data = json_object(envelope.payload, "invalid_payload", "payload")
    model = TELEMETRY_KINDS.get(kind)
    if model is None:  # never stored as opaque: a kind the cloud does not know is refused
        known = ", ".join(sorted(TELEMETRY_KINDS))
        message = f"Telemetry kind {kind!r} is not one of: {known}."
        raise InvalidInput(message, code="unknown_kind")
    validate(model, data, "invalid_payload", f"{kind} payload")
    return data


def to_row(envelope: PublishEnvelope) -> RawRow:
    device_id, kind = _topic_kind(envelope)
    data = _payload(envelope, kind)
    message_id = data.get("message_id") or envelope.id
    if not isinstance(message_id, str) or not message_id or len(message_id) > 64:
        message = "No usable message_id (payload or envelope id)."
        raise InvalidInput(message, code="invalid_payload")
    received_at = envelope.publish_received_at or envelope.timestamp
    device_ts = data.get("ts")
    ts = device_ts if isinstance(device_ts, int) else received_at
    payload = json.dumps(data, sort_keys=True, separators=(",", ":"))
    return RawRow(device_id, message_id, kind, envelope.topic, ts, received_at, payload)
