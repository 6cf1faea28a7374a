"""Statistical rollout safety: Wilson score intervals on the failure rate.

Failures are failed + timed_out devices; the rate is over finished devices (success, failed,
timed_out). Abort when the 95% lower bound exceeds the threshold (we are confident the rate
is too high); advance only when the 95% upper bound is below it (confident it is low enough).
The naive rule ("> threshold of reports so far") is kept for comparison in the tests.

The policy is checked after every report, and repeated looks inflate false alarms: one early
failure (1 of 3) already puts the lower bound above 2%. So a single failure never aborts:
at least MIN_FAILURES are needed (Monte-Carlo, 10,000 devices, true rate 1%: false aborts
fall from ~8% to ~2%; a broken image still aborts after its second failure).
"""

import math
from dataclasses import dataclass

Z95 = 1.959963984540054
MIN_FAILURES = 2


@dataclass(frozen=True)
class Interval:
    low: float
    high: float


def wilson(failures: int, n: int, z: float = Z95) -> Interval:
    if n <= 0:
        return Interval(0.0, 1.0)
    p = failures / n
    z2 = z * z
    center = (p + z2 / (2 * n)) / (1 + z2 / n)
    margin = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    low = 0.0 if failures == 0 else max(0.0, center - margin)
    high = 1.0 if failures == n else min(1.0, center + margin)
    return Interval(min(low, p), max(high, p))


def should_abort(failures: int, finished: int, threshold: float) -> bool:
    return failures >= MIN_FAILURES and wilson(failures, finished).low > threshold


def may_advance(failures: int, finished: int, threshold: float) -> bool:
    return finished > 0 and wilson(failures, finished).high < threshold


def naive_abort(failures: int, finished: int, threshold: float) -> bool:
    return finished > 0 and failures / finished > threshold


@dataclass(frozen=True)
class StageView:
    """What a stage decision sees (rs1.ota.rollouts.evaluate; the Monte-Carlo test drives it
    the same way)."""

    failures: int  # failed, timed out, or failed the soak
    finished: int  # installed and soaked, or failed
    open_rows: int  # triggered, installing, or soaking
    pending: int  # enrolled but offline: they do not hold a stage
    soaked: bool  # the stage's own soak_minutes have passed
    last: bool  # the last stage
    min_devices: int
    threshold: float
    can_extend: bool  # policy `extend` and the cohort is not the whole fleet yet


def decide(v: StageView) -> str:
    """abort | complete | advance | extend | wait.

    A stage advances only when its devices have all finished (installs and soaks) and the
    95% upper bound is below the threshold. A finished stage that is inconclusive (the
    interval straddles the threshold, or too few devices) takes more devices (`extend`) when
    the policy allows, so a bad image cannot stall short of an abort (Monte-Carlo: a 3%
    post-install failure rate is aborted before 50% of the fleet in >= 99% of runs)."""
    if should_abort(v.failures, v.finished, v.threshold):
        return "abort"
    if v.open_rows or not v.soaked:
        return "wait"
    if v.last:
        return "wait" if v.pending else "complete"
    if v.finished >= v.min_devices and may_advance(v.failures, v.finished, v.threshold):
        return "advance"
    return "extend" if v.can_extend else "wait"
