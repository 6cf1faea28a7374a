"""What the device API answers: response models (the OpenAPI document is generated from them)."""

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from rs1.zones.model import ZoneConfig


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Health(Strict):
    status: Literal["ok", "degraded"]
    worker: str
    version: str
    timestamp: str
    checks: dict[str, bool]


class SessionInfo(Strict):
    sub: str
    role: Literal["user", "admin"]
    expires_at: int
    jti: str


class IssuedSession(SessionInfo):
    token: str


class Claimed(Strict):
    device_id: str
    role: Literal["owner"]


class DeviceFields(Strict):
    device_id: str
    model: str | None
    firmware_version: str | None
    online: bool
    last_seen: str | None
    config_version: int


class DeviceSummary(DeviceFields):
    role: Literal["owner", "viewer"]


class DeviceList(Strict):
    devices: list[DeviceSummary]
    next_cursor: str | None


class OtaEntry(Strict):
    rollout_id: str
    firmware_version: str
    status: str
    progress: int | None


class DeviceDetail(DeviceFields):
    pending_config_version: int | None
    ota: list[OtaEntry]
    role: Literal["owner", "viewer", "admin"]


class Shared(Strict):
    device_id: str
    user_id: str
    role: Literal["viewer"]


class TimeZone(Strict):
    device_id: str
    utc_offset_min: int | None  # set by the owner; wins over the device's report
    reported_utc_offset_min: int | None  # from the device's `state`


class ZoneVersion(Strict):
    version: int
    updated_at: str
    updated_by: str | None


class Rejection(Strict):
    version: int
    error: str | None


class ZonesView(Strict):
    device_id: str
    desired_version: int
    applied_version: int
    config: ZoneConfig | None
    updated_by: str | None
    updated_at: str | None
    last_rejection: Rejection | None
    versions: list[ZoneVersion]


class ZonesWritten(ZonesView):
    delivered: bool


class TelemetryPage(Strict):
    device_id: str
    resolution: Literal["raw", "hour"]
    items: list[dict[str, Any]]
    next_cursor: str | None
