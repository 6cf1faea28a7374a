"""Telemetry rows on the ingest queue: the message body and how rows are cut into sends.

The webhook validates and authorises each EMQX message, then queues its row; the consumer
(rs1.telemetry.consumer) stores rows in batches. A body is the row as compact JSON with a
format version, so a consumer can refuse what it does not understand instead of guessing.
"""

import json
from collections.abc import Iterator, Sequence
from typing import Any

from rs1.errors import InvalidInput
from rs1.storage.queue import (
    MAX_BATCH_BYTES,
    MAX_BATCH_MESSAGES,
    MAX_MESSAGE_BYTES,
    counted_size,
)
from rs1.telemetry.ingest import RawRow

BINDING = "TELEMETRY_QUEUE"
VERSION = 1
_FIELDS = ("device_id", "message_id", "kind", "topic", "ts", "received_at", "payload")


def encode_row(row: RawRow) -> str:
    data = {"v": VERSION, **{name: getattr(row, name) for name in _FIELDS}}
    return json.dumps(data, separators=(",", ":"))


def _field(data: dict[str, Any], name: str, kind: type) -> Any:
    value = data.get(name)
    if not isinstance(value, kind) or isinstance(value, bool):
        message = f"Queued row field {name!r} is missing or not {kind.__name__}."
        raise InvalidInput(message, code="invalid_message")
    return value


def decode_row(body: Any) -> RawRow:
    """A queued body back to its row; InvalidInput for anything this version did not write."""
    try:
        data = json.loads(body) if isinstance(body, str) else None
    except ValueError:
        data = None
    if not isinstance(data, dict) or data.get("v") != VERSION:
        raise InvalidInput(f"Not a version-{VERSION} telemetry row.", code="invalid_message")
    return RawRow(
        device_id=_field(data, "device_id", str),
        message_id=_field(data, "message_id", str),
        kind=_field(data, "kind", str),
        topic=_field(data, "topic", str),
        ts=_field(data, "ts", int),
        received_at=_field(data, "received_at", int),
        payload=_field(data, "payload", str),
    )


def sends(bodies: Sequence[str]) -> Iterator[list[str]]:
    """Consecutive groups that each fit one sendBatch (≤ 100 messages, ≤ 256 KB with each
    message's metadata counted)."""
    group: list[str] = []
    size = 0
    for body in bodies:
        length = counted_size(body)
        if length > MAX_MESSAGE_BYTES:  # webhook bodies are far smaller: a bug, not input
            raise ValueError(f"a queued row of {length} bytes exceeds {MAX_MESSAGE_BYTES}")
        if group and (len(group) == MAX_BATCH_MESSAGES or size + length > MAX_BATCH_BYTES):
            yield group
            group, size = [], 0
        group.append(body)
        size += length
    if group:
        yield group
