"""What a fleet run is: sizes, endpoints, pacing and fault mix."""

from dataclasses import dataclass, field
from pathlib import Path

from rs1tools.fleet.backoff import BackoffPolicy
from rs1tools.fleet.faults import FaultSpec
from rs1tools.fleet.identity import DeviceIdentity


@dataclass(frozen=True)
class FaultTiming:
    """How often faults strike (real seconds; means of exponential waits)."""

    flaky_mean_s: float = 20.0
    power_loss_mean_s: float = 30.0
    power_off_s: tuple[float, float] = (5.0, 15.0)
    reboot_off_s: float = 1.0  # an OTA/requested restart is quick
    foreign_interval_s: float = 10.0
    skew_hours: tuple[float, float] = (2.0, 6.0)  # beyond the broker's one-hour tolerance


@dataclass(frozen=True)
class FleetConfig:
    devices: int = 10
    duration_s: float | None = 60.0  # None: run until stopped
    mqtt_host: str = "127.0.0.1"
    mqtt_port: int = 1883
    api: str = "http://127.0.0.1:8787"
    admin_token: str | None = None  # for enrolling; None: rs1ctl's (RS1_ADMIN_TOKEN, ...)
    secrets: Path | None = None  # a secrets CSV instead of enrolling through the API
    identities: tuple[DeviceIdentity, ...] | None = None  # pre-made identities (tests)
    telemetry_interval_s: float = 5.0
    telemetry_qos: int = 1  # 0 or 1; state, ota/status and config/status are always QoS 1
    # `state` is re-announced this often (± 10% jitter), besides on connect; None: only on
    # connect. Keep it above EMQX's authz cache TTL (60 s) so each re-announcement gets a
    # fresh authz check (firmware/README.md, "State announcements").
    state_interval_s: float | None = 90.0
    clock_speed: float = 1.0
    faults: tuple[FaultSpec, ...] = ()
    seed: int = 1
    duplicate_rate: float = 0.02
    keepalive_s: int = 30
    firmware_version: str = "1.0.0"
    ramp_s: float = 5.0  # boots are spread over this many seconds
    connect_timeout_s: float = 10.0
    backoff: BackoffPolicy = field(default_factory=BackoffPolicy)
    timing: FaultTiming = field(default_factory=FaultTiming)
    # Each device picks one UTC offset (minutes) and one value per tag key, by seed, and
    # reports them in `state` (maintenance windows; cohort queries on tags).
    utc_offsets_min: tuple[int, ...] = (0,)
    device_tags: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.devices < 1:
            raise ValueError("devices must be >= 1")
        if self.telemetry_interval_s <= 0 or self.clock_speed <= 0:
            raise ValueError("telemetry interval and clock speed must be positive")
        if not 0 <= self.duplicate_rate <= 1:
            raise ValueError("duplicate_rate must be within 0..1")
        if self.telemetry_qos not in (0, 1):
            raise ValueError("telemetry_qos must be 0 or 1")
        if self.state_interval_s is not None and self.state_interval_s <= 0:
            raise ValueError("state_interval_s must be positive (or None)")
        if not self.utc_offsets_min or any(not -720 <= o <= 840 for o in self.utc_offsets_min):
            raise ValueError("utc_offsets_min: one or more offsets within -720..840")
        if any(not values for values in self.device_tags.values()):
            raise ValueError("device_tags: every key needs at least one value")
