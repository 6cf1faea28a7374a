"""Reconnect backoff: exponential with jitter, always within [initial_s, max_s].

Jitter spreads a fleet that lost its broker at the same instant, so the reconnects do not
arrive as one wave.
"""

import random
from dataclasses import dataclass

MAX_EXPONENT = 64  # 2**64 * initial is far past any cap; keeps the float finite


@dataclass(frozen=True)
class BackoffPolicy:
    initial_s: float = 0.5
    max_s: float = 30.0
    factor: float = 2.0
    stable_s: float = 10.0  # only a connection that lasted this long resets the backoff

    def __post_init__(self) -> None:
        if not 0 < self.initial_s <= self.max_s or self.factor < 1:
            raise ValueError("backoff needs 0 < initial_s <= max_s and factor >= 1")

    def delay(self, attempt: int, rng: random.Random) -> float:
        """Delay before retry `attempt` (0-based): uniform in [ceiling/2, ceiling], clamped."""
        exponent = min(max(attempt, 0), MAX_EXPONENT)
        ceiling = min(self.max_s, self.initial_s * self.factor**exponent)
        low = max(self.initial_s, ceiling / 2)
        return min(self.max_s, rng.uniform(low, max(low, ceiling)))


class Backoff:
    """The retry counter of one device."""

    def __init__(self, policy: BackoffPolicy, rng: random.Random) -> None:
        self.policy = policy
        self.rng = rng
        self.attempt = 0

    def next_delay(self) -> float:
        delay = self.policy.delay(self.attempt, self.rng)
        self.attempt += 1
        return delay

    def reset(self) -> None:
        self.attempt = 0
