"""What watchers receive: one JSON text message per accepted telemetry/targets message.

    {"type": "hello", "protocol": "rs1.targets.v1", "device_id": "...", "watchers": 1}
    {"type": "targets", "device_id": "...", "message_id": "...", "ts": 1767225600000,
     "received_at": 1767225600042, "targets": [{"id": 1, "x_mm": -120, "y_mm": 1800,
     "speed_mm_s": 0, "distance_mm": 1804}]}

`ts` is the device's clock, `received_at` the broker's; frames go out in the order the webhook
accepted them, each message_id at most once per Durable Object lifetime (clients wanting
stronger guarantees can dedupe on message_id).
"""

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from rs1.live.protocol import PROTOCOL
from rs1.telemetry.ingest import RawRow

TARGETS_KIND = "targets"
Frame = dict[str, Any]


def _dumps(data: Mapping[str, Any]) -> str:
    return json.dumps(data, separators=(",", ":"))


def hello(device_id: str, watchers: int) -> str:
    return _dumps(
        {"type": "hello", "protocol": PROTOCOL, "device_id": device_id, "watchers": watchers}
    )


def targets_by_device(rows: Iterable[RawRow]) -> dict[str, list[RawRow]]:
    """The batch's targets rows per device, in batch order, each message_id once (a batch may
    carry a device's redelivered copy next to the original)."""
    grouped: dict[str, list[RawRow]] = {}
    seen: set[tuple[str, str]] = set()
    for row in rows:
        key = (row.device_id, row.message_id)
        if row.kind != TARGETS_KIND or key in seen:
            continue
        seen.add(key)
        grouped.setdefault(row.device_id, []).append(row)
    return grouped


def frame(row: RawRow) -> Frame:
    payload = json.loads(row.payload)
    return {
        "type": "targets",
        "device_id": row.device_id,
        "message_id": row.message_id,
        "ts": row.ts,
        "received_at": row.received_at,
        "targets": payload.get("targets", []),
    }


def encode(frame_: Mapping[str, Any]) -> str:
    return _dumps(frame_)


def valid_frames(data: Any, device_id: str) -> list[Frame]:
    """The frames of a publish body addressed to this device (the object trusts its callers,
    but a wrong device id would leak another device's targets, so it is checked)."""
    frames: Sequence[Any] = data.get("frames", []) if isinstance(data, dict) else []
    return [
        f
        for f in frames
        if isinstance(f, dict)
        and f.get("type") == "targets"
        and f.get("device_id") == device_id
        and isinstance(f.get("message_id"), str)
    ]
