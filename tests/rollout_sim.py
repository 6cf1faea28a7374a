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


def simulate_gated(
    rnd: random.Random,
    fleet: int,
    install_rate: float,
    post_install_rate: float,
    stages: tuple[float, ...] = (5, 10, 25, 50, 100),
    threshold: float = 0.02,
    extend: bool = True,
) -> int | None:
    """A health-gated rollout as rs1.ota.rollouts.evaluate runs it, decided by the production
    rs1.ota.safety.decide: a device fails its install (install_rate) or, having installed,
    fails its soak (post_install_rate); either is a failure once it finishes. The abort rule
    is checked after every finished device; at a stage's end decide() advances, extends the
    cohort by the first stage's share, or waits. Returns the number of devices enrolled when
    the rollout aborted (None: not aborted)."""
    from rs1.ota.safety import StageView, decide, should_abort

    failures = finished = 0
    cohort_pct, stage = stages[0], 0
    while True:
        for _ in range(fleet * int(cohort_pct * 100) // 10_000 - finished):
            finished += 1
            installed = rnd.random() >= install_rate
            if installed and rnd.random() >= post_install_rate:
                continue  # with the failures fixed, more devices only lower the bound
            failures += 1
            if should_abort(failures, finished, threshold):
                return fleet * int(cohort_pct * 100) // 10_000
        view = StageView(
            failures=failures, finished=finished, open_rows=0, pending=0, soaked=True,
            last=stage == len(stages) - 1, min_devices=0, threshold=threshold,
            can_extend=extend and cohort_pct < 100,
        )  # fmt: skip
        decision = decide(view)
        if decision == "advance":
            stage += 1
            cohort_pct = max(cohort_pct, stages[stage])
        elif decision == "extend":
            cohort_pct = min(100.0, cohort_pct + stages[0])
        else:  # complete, or an inconclusive stage held for an admin
            return None
