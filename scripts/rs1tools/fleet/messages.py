"""Outgoing messages, built through the shared payload models in rs1contract.payloads.

Building a model validates it, so the fleet cannot publish what the Workers would refuse.
"""

import itertools
from dataclasses import dataclass

from pydantic import BaseModel
from rs1contract.payloads import (
    ConfigStatus,
    DiagTelemetry,
    HealthTelemetry,
    PresenceTelemetry,
    StatePayload,
    Target,
    TargetsTelemetry,
    ZonePresence,
)
from rs1contract.topics import device_topic


@dataclass(frozen=True)
class Outbound:
    topic: str
    payload: bytes
    message_id: str | None = None  # telemetry only; duplicates reuse it


class MessageIds:
    """`{first 8 of device id}-{boot}-{seq}`: the sequence restarts at boot, the boot
    counter is persisted (as firmware keeps it in NVS), so ids never repeat on a device."""

    def __init__(self, device_id: str, boot: int) -> None:
        self.prefix = f"{device_id[:8]}-{boot}"
        self.sequence = itertools.count(1)

    def next(self) -> str:
        return f"{self.prefix}-{next(self.sequence)}"


def encode(model: BaseModel) -> bytes:
    return model.model_dump_json(exclude_none=True).encode()


def telemetry(device_id: str, kind: str, model: BaseModel, message_id: str) -> Outbound:
    return Outbound(device_topic(device_id, "telemetry", kind), encode(model), message_id)


def state(device_id: str, payload: StatePayload) -> Outbound:
    return Outbound(device_topic(device_id, "state"), encode(payload))


def offline_state() -> bytes:
    """The last will: what the broker announces when the device vanishes."""
    return encode(StatePayload(online=False))


def targets(device_id: str, message_id: str, ts_ms: int, frame: list[Target]) -> Outbound:
    model = TargetsTelemetry(message_id=message_id, ts=ts_ms, targets=frame)
    return telemetry(device_id, "targets", model, message_id)


def presence(device_id: str, message_id: str, ts_ms: int, zones: list[ZonePresence]) -> Outbound:
    model = PresenceTelemetry(message_id=message_id, ts=ts_ms, zones=zones)
    return telemetry(device_id, "presence", model, message_id)


def health(
    device_id: str,
    message_id: str,
    ts_ms: int,
    *,
    uptime_s: int,
    free_heap: int,
    rssi: int,
    radar_ok: bool,
    temperature_c: float | None = None,
) -> Outbound:
    model = HealthTelemetry(
        message_id=message_id,
        ts=ts_ms,
        uptime_s=uptime_s,
        free_heap=free_heap,
        rssi=rssi,
        radar_ok=radar_ok,
        temperature_c=temperature_c,
    )
    return telemetry(device_id, "health", model, message_id)


def diag(
    device_id: str, message_id: str, ts_ms: int, request_id: str, result: dict[str, object]
) -> Outbound:
    model = DiagTelemetry(message_id=message_id, ts=ts_ms, request_id=request_id, result=result)
    return telemetry(device_id, "diag", model, message_id)


def config_status(device_id: str, status: ConfigStatus) -> Outbound:
    return Outbound(device_topic(device_id, "config", "status"), encode(status))
