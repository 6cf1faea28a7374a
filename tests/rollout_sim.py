"""Monte-Carlo model of a staged rollout under a failure-rate policy (shared by the test and
`make bench`). Devices of the current stage finish one by one in random order; the policy
is checked after every finished device, as the cron/webhooks do in production."""

import random
from collections.abc import Callable

Policy = Callable[[int, int, float], bool]  # (failures, finished, threshold) -> abort?


def simulate(
    rnd: random.Random,
    fleet: int,
    true_rate: float,
    abort: Policy,
    stages: tuple[int, ...] = (10, 50, 100),
    threshold: float = 0.02,
) -> int | None:
    """Returns the stage index (0-based) in which the rollout aborted, or None."""
    failures = finished = 0
    done = 0
    for index, percent in enumerate(stages):
        cohort = fleet * percent // 100
        for _ in range(cohort - done):
            finished += 1
            failures += rnd.random() < true_rate
            if abort(failures, finished, threshold):
                return index
        done = cohort
    return None


def abort_rates(rnd: random.Random, fleet: int, rate: float, policy: Policy, runs: int):
    outcomes = [simulate(rnd, fleet, rate, policy) for _ in range(runs)]
    aborted = sum(o is not None for o in outcomes) / runs
    before_50 = sum(o == 0 for o in outcomes) / runs
    return aborted, before_50
