"""The simulation clock: wall time as the devices see it.

`speed` makes device time run faster than real time (3600 → one device hour per real
second), so hourly password rotation can be exercised in seconds; the broker still checks
against real time, so fast clocks eventually get refused — that is the point. Network
pacing (telemetry interval, backoff, run duration) stays in real seconds.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class SimClock:
    speed: float = 1.0
    monotonic: Callable[[], float] = time.monotonic
    origin_wall: float = field(default_factory=time.time)
    origin_mono: float = -1.0

    def __post_init__(self) -> None:
        if self.origin_mono < 0:
            self.origin_mono = self.monotonic()

    def now(self, skew_s: float = 0.0) -> float:
        """Unix seconds on a device whose clock is off by `skew_s`."""
        elapsed = self.monotonic() - self.origin_mono
        return self.origin_wall + elapsed * self.speed + skew_s
