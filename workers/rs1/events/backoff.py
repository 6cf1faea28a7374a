"""Retry delays of an event delivery: exponential from `base_s`, capped at an hour, with
jitter (a random 50–100% of the step) so endpoints that failed together do not retry
together."""

import random

CAP_S = 3600.0


def next_delay_s(attempt: int, base_s: float, rng: random.Random) -> float:
    """The wait after failed attempt number `attempt` (1 = the first)."""
    step = min(CAP_S, base_s * 2 ** min(max(attempt - 1, 0), 32))
    return step * rng.uniform(0.5, 1.0)
