"""What the admin API answers: response models (the OpenAPI document is generated from them).

Registry rows allow extra fields: ops tooling reads them, and a new column is not a break.
"""

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from rs1.ota.policy import Policy


class Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class Enrolled(Open):
    device_id: str
    mac_address: str
    model: str | None
    device_secret: str
    key_generation: int


class Conflict(Open):
    mac_address: str
    device_id: str


class BatchEnrolled(Open):
    enrolled: list[Enrolled]
    conflicts: list[Conflict]
    invalid: list[dict[str, Any]]


class RegistryDevice(Open):
    device_id: str
    mac_address: str
    model: str | None
    firmware_version: str | None
    online: bool
    last_seen: str | None
    status: Literal["active", "revoked"]
    config_version: int


class DeviceRecord(RegistryDevice):
    key_generation: int
    created_at: str
    tags: dict[str, str] = {}


class DeviceTags(Open):
    device_id: str
    tags: dict[str, str]


class DeviceSearch(Open):
    devices: list[RegistryDevice]
    next_after: str | None


class StatusChanged(Open):
    device_id: str
    status: Literal["active", "revoked"]
    session: Literal["ended", "not_connected", "failed"] | None = None


class DiagAccepted(Open):
    request_id: str
    delivered: bool


class DiagAnswer(Open):
    request_id: str
    status: Literal["pending", "answered"]
    received_at: int | None = None
    result: Any = None


class FirmwareStored(Open):
    model: str
    version: str
    size: int
    sha256: str
    signature: str
    min_version: str | None
    created_at: str
    created: bool


class FirmwareRow(Open):
    model: str
    version: str
    size: int
    sha256: str
    min_version: str | None
    created_at: str


class FirmwareList(Open):
    firmware: list[FirmwareRow]


class Rollout(Open):
    rollout_id: str
    model: str
    firmware_version: str
    status: str
    status_reason: str | None
    stages: list[dict[str, float]]
    current_stage: int
    target_percent: float | None
    counts: dict[str, int]
    failures: int
    finished: int
    failure_rate: float | None
    failure_rate_ci95: list[float]
    failure_threshold: float
    timeout_minutes: float
    created_at: str
    cohort: "RolloutCohort"
    policy: Policy
    scheduled: bool  # start_at is still ahead
    rate: "RolloutRate | None"
    soak_failures: dict[str, int]  # failed soaks by reason
    waiting_online: int  # pending devices that are online: held by the rate or their window
    security_version: int
    rollback: "RolloutRollback"


class RolloutCohort(Open):
    query: str | None
    percent: float  # the share of the matching devices enrolled now (buckets)
    dynamic: bool
    joined_after_start: int  # devices that came to match while the rollout ran


class RolloutRate(Open):
    per_minute_now: int
    consecutive_successes: int


class RolloutRollback(Open):
    version: str | None  # offered to the devices that installed the aborted version
    rollout_id: str | None  # the rollback rollout
    of: str | None  # on a rollback rollout: the aborted rollout


class BulkResult(Open):
    matched: int
    device_ids: list[str]  # the first 100
    applied: int  # tagged, revoked, or sent a diag/request (0 on a dry run)
    dry_run: bool


class RolloutDevice(Open):
    device_id: str
    status: str
    stage: int | None
    from_version: str | None
    error_message: str | None
    triggered_at: int | None  # unix ms of the latest trigger
    trigger_count: int
    joined_late: bool  # came to match the cohort while the rollout ran
    soak: Literal["soaking", "passed", "failed"] | None
    soak_error: str | None  # reboot_loop, telemetry_silent, radar_error
    rolled_back: bool


class RolloutDevices(Open):
    devices: list[RolloutDevice]
    next_cursor: str | None


class RolloutList(Open):
    rollouts: list[Rollout]


class Alert(Open):
    alert_id: str
    kind: str
    subject: str | None
    status: Literal["open", "resolved"]
    message: str | None


class AlertList(Open):
    alerts: list[Alert]


class FleetDevices(Open):
    registered: int
    online: int
    revoked: int
    online_ratio: float | None


class Fleet(Open):
    devices: FleetDevices
    firmware_versions: list[dict[str, Any]]
    active_rollouts: list[dict[str, Any]]
    open_alerts: int
    security_events: dict[str, int]
    telemetry_rows: int


class AuditActor(Open):
    type: Literal["user", "admin", "api_key"]
    id: str


class AuditTarget(Open):
    type: str
    id: str


class AuditRecord(Open):
    seq: int
    audit_id: str
    at: str
    actor: AuditActor
    action: str
    target: AuditTarget
    request_id: str
    client_ip: str
    summary: dict[str, Any]


class AuditPage(Open):
    records: list[AuditRecord]
    next_cursor: str | None


class SecurityEvent(Open):
    id: int
    event_type: str  # auth_failure_repeated, acl_violation, rate_limit_exceeded, …
    details: Any  # the event's JSON object
    ip: str | None
    timestamp: str


class SecurityLogPage(Open):
    events: list[SecurityEvent]
    next_cursor: str | None


class AuditExport(Open):
    day: str
    prev_hash: str
    last_hash: str
    count: int
    first_seq: int | None
    last_seq: int
    object_key: str
    exported_at: str


class AuditExports(Open):
    exports: list[AuditExport]


class ApiKey(Open):
    key_id: str
    name: str
    scopes: list[str]
    role: Literal["user", "admin"]
    sub: str
    created_by: str
    created_at: str
    expires_at: str | None
    last_used_at: str | None
    uses: int
    revoked_at: str | None


class ApiKeys(Open):
    keys: list[ApiKey]


class CreatedKey(Open):
    key_id: str
    key: str  # shown once
    name: str
    scopes: list[str]
    role: Literal["user", "admin"]
    sub: str
    expires_at: str | None
    created_at: str


class RevokedKey(Open):
    key_id: str
    revoked_at: str
