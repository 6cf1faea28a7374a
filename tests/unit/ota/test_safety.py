import random

from hypothesis import given
from hypothesis import strategies as st
from rollout_sim import abort_rates

from rs1.ota.safety import naive_abort, should_abort, wilson

RUNS = 400


@given(st.integers(1, 5000), st.data())
def test_wilson_interval_contains_the_estimate(n: int, data) -> None:
    k = data.draw(st.integers(0, n))
    interval = wilson(k, n)
    assert 0 <= interval.low <= k / n <= interval.high <= 1


def test_monte_carlo_wilson_policy_meets_the_targets(capsys) -> None:
    rnd = random.Random(20261122)
    false_abort, _ = abort_rates(rnd, 10_000, 0.01, should_abort, RUNS)
    _, before_50 = abort_rates(rnd, 10_000, 0.05, should_abort, RUNS)
    naive_false, _ = abort_rates(rnd, 10_000, 0.01, naive_abort, RUNS)
    _, naive_before_50 = abort_rates(rnd, 10_000, 0.05, naive_abort, RUNS)
    with capsys.disabled():
        print(
            f"\n[monte-carlo 10k devices, {RUNS} runs] wilson: false aborts at 1% ="
            f" {false_abort:.1%},"
            f" aborts before 50% at 5% = {before_50:.1%} | naive: false aborts at 1% ="
            f" {naive_false:.1%}, before 50% at 5% = {naive_before_50:.1%}"
        )
    assert false_abort <= 0.05
    assert before_50 >= 0.95
    assert naive_false > 5 * false_abort  # the naive rule aborts good rollouts far more often


def test_a_broken_image_aborts_after_two_failures_and_one_failure_never_does() -> None:
    assert not should_abort(1, 1, 0.02)
    assert should_abort(2, 2, 0.02)
    assert not should_abort(2, 1000, 0.02)
