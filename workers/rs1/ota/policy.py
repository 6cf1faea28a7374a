"""A rollout's policy: how fast, when, and how carefully devices take the new firmware.

Stored with the rollout (ota_rollouts.policy_json) and validated by the same models the admin
API takes, so what an admin sends is what the cron enforces.

- `rate`: at most `max_per_minute` triggers in any minute; with `ramp`, the rate starts at
  `base_per_minute` and is multiplied by `factor` after every `after_successes` successful
  installs since the rollout's latest failure (AWS IoT Jobs' exponential rollout, reset by a
  failure: "consecutive").
- `jitter_s`: each device waits a random 0..jitter_s seconds before it downloads.
- `window` + `install`: daily maintenance windows in the device's local time. `immediate`:
  triggers go out only while the device's local time is inside the window. `window`: the
  device downloads at once, reports `downloaded`, and installs when its window opens.
- `start_at`: nothing is triggered before it.
- `health`: after installing, a device soaks; it fails the soak if it reboots more than
  `max_reboots` times, sends no telemetry for `silence_minutes`, or reports a radar error.
- `rollback`: on abort, devices that installed the bad version are offered their previous one,
  if its security version is the same (never a security-version downgrade).
- `on_inconclusive`: a finished stage whose failure interval straddles the threshold either
  `extend`s its cohort by the first stage's share (more evidence) or `hold`s for an admin.
"""

import math
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from rs1contract.ota import MAX_JITTER_S, InstallWindow

PER_MINUTE_MAX = 10_000
DAY_MINUTES = 24 * 60
WINDOW_WAIT_MS = DAY_MINUTES * 60_000  # a `downloaded` device may wait this long for its window


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Ramp(_Model):
    base_per_minute: Annotated[int, Field(ge=1, le=PER_MINUTE_MAX)]
    factor: Annotated[float, Field(gt=1, le=10)] = 2.0
    after_successes: Annotated[int, Field(ge=1, le=100_000)] = 10


class Rate(_Model):
    max_per_minute: Annotated[int, Field(ge=1, le=PER_MINUTE_MAX)]
    ramp: Ramp | None = None

    @model_validator(mode="after")
    def _base_within_max(self) -> "Rate":
        if self.ramp and self.ramp.base_per_minute > self.max_per_minute:
            raise ValueError("ramp.base_per_minute must not exceed max_per_minute")
        return self

    def per_minute(self, successes: int) -> int:
        """The allowed triggers per minute after `successes` consecutive successes."""
        if self.ramp is None:
            return self.max_per_minute
        steps = successes // self.ramp.after_successes
        # log-space: factor ** steps overflows long before the cap matters
        grown = math.log(self.ramp.base_per_minute) + steps * math.log(self.ramp.factor)
        if grown >= math.log(self.max_per_minute):
            return self.max_per_minute
        return max(1, math.floor(math.exp(grown) + 1e-9))


class Health(_Model):
    soak_minutes: Annotated[float, Field(ge=0, le=7 * DAY_MINUTES)] = 15
    max_reboots: Annotated[int, Field(ge=0, le=100)] = 1
    silence_minutes: Annotated[float, Field(gt=0, le=DAY_MINUTES)] = 5
    radar_errors: bool = True  # a radar_ok=false health report fails the soak

    @property
    def soak_ms(self) -> int:
        return int(self.soak_minutes * 60_000)

    @property
    def silence_ms(self) -> int:
        return int(self.silence_minutes * 60_000)


class Policy(_Model):
    rate: Rate | None = None
    jitter_s: Annotated[int, Field(ge=0, le=MAX_JITTER_S)] = 0
    window: InstallWindow | None = None
    install: Literal["immediate", "window"] = "immediate"
    start_at: datetime | None = None
    health: Health = Field(default_factory=Health)
    rollback: bool = False
    on_inconclusive: Literal["extend", "hold"] = "extend"

    @model_validator(mode="after")
    def _coherent(self) -> "Policy":
        if self.install == "window" and self.window is None:
            raise ValueError("install=window needs a window")
        if self.start_at is not None and self.start_at.utcoffset() is None:
            raise ValueError("start_at needs a time zone (e.g. 2026-12-01T02:00:00Z)")
        return self

    @property
    def start_at_ms(self) -> int | None:
        return None if self.start_at is None else int(self.start_at.timestamp() * 1000)

    def gates_triggers_by_window(self) -> bool:
        """Triggers wait for the device's window (install=window devices download at once)."""
        return self.window is not None and self.install == "immediate"

    def stored(self) -> str:
        return self.model_dump_json(exclude_none=True)

    @classmethod
    def from_stored(cls, text: str | None) -> "Policy":
        return cls.model_validate_json(text or "{}")


def local_minute(now_ms: int, utc_offset_min: int) -> int:
    """The minute of the day (0..1439) at a device `utc_offset_min` from UTC."""
    return (now_ms // 60_000 + utc_offset_min) % DAY_MINUTES
