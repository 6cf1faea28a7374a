"""JSON payloads devices publish (inside the EMQX envelope's `payload` string).

One definition for both sides: the Workers validate with these models, the simulated fleet
builds its messages with them, and `schema/` holds their generated JSON Schemas.
Telemetry topics: opticworks/{id}/telemetry/{targets|presence|health|diag}.
"""

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

TagKey = Annotated[str, Field(min_length=1, max_length=32, pattern=r"^[a-z0-9][a-z0-9_.-]*$")]
TagValue = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:/-]+$")]
MessageId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:-]+$")]
Millis = Annotated[int, Field(ge=0, le=10**13)]


class _Payload(BaseModel):
    model_config = ConfigDict(extra="ignore")


class StatePayload(_Payload):
    """opticworks/{id}/state"""

    online: bool = True
    firmware_version: str | None = Field(default=None, max_length=32)
    uptime_s: int | None = Field(default=None, ge=0)
    free_heap: int | None = Field(default=None, ge=0)
    rssi: int | None = Field(default=None, ge=-127, le=0)
    ip: str | None = Field(default=None, max_length=45)
    # The device's local time zone as an offset from UTC, for maintenance windows.
    utc_offset_min: int | None = Field(default=None, ge=-720, le=840)
    # Device-reported key=value tags (admin-set tags of the same key win).
    tags: dict[TagKey, TagValue] | None = Field(default=None, max_length=16)


class Target(_Payload):
    id: int = Field(ge=0, le=255)
    x_mm: int = Field(ge=-10_000, le=10_000)
    y_mm: int = Field(ge=0, le=10_000)
    speed_mm_s: int = Field(ge=-10_000, le=10_000)
    distance_mm: int = Field(ge=0, le=15_000)


class TargetsTelemetry(_Payload):
    """telemetry/targets — the radar's tracked targets (the LD2450 tracks up to 3)."""

    message_id: MessageId
    ts: Millis
    targets: list[Target] = Field(max_length=3)


class ZonePresence(_Payload):
    zone_id: str = Field(min_length=1, max_length=32)
    occupied: bool
    target_count: int = Field(ge=0, le=3)


class PresenceTelemetry(_Payload):
    """telemetry/presence — per-zone occupancy."""

    message_id: MessageId
    ts: Millis
    zones: list[ZonePresence] = Field(max_length=16)


class HealthTelemetry(_Payload):
    """telemetry/health — sensor health."""

    message_id: MessageId
    ts: Millis
    uptime_s: int = Field(ge=0)
    free_heap: int = Field(ge=0)
    rssi: int = Field(ge=-127, le=0)
    radar_ok: bool
    temperature_c: float | None = Field(default=None, ge=-40, le=125)


class DiagTelemetry(_Payload):
    """telemetry/diag — the answer to a diag/request."""

    message_id: MessageId
    ts: Millis
    request_id: str = Field(min_length=1, max_length=64)
    result: dict[str, object]


TELEMETRY_KINDS: dict[str, type[_Payload]] = {
    "targets": TargetsTelemetry,
    "presence": PresenceTelemetry,
    "health": HealthTelemetry,
    "diag": DiagTelemetry,
}


class ConfigStatus(_Payload):
    """opticworks/{id}/config/status — a device's answer to config/update."""

    version: int = Field(ge=0, le=2**31 - 1)
    status: Literal["applied", "rejected"]
    error: str | None = Field(default=None, max_length=512)


class DiagRequest(_Payload):
    """opticworks/{id}/diag/request (cloud → device)."""

    request_id: str = Field(min_length=1, max_length=64)
    kind: str = Field(default="basic", max_length=32)
