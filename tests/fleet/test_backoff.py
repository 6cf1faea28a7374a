"""Reconnect backoff: bounded, growing, jittered, resettable."""

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rs1tools.fleet.backoff import Backoff, BackoffPolicy

policies = st.builds(
    lambda initial, spread, factor: BackoffPolicy(initial, initial * spread, factor),
    st.floats(0.01, 5),
    st.floats(1, 200),
    st.floats(1, 4),
)


@given(policy=policies, attempt=st.integers(-5, 10_000), seed=st.integers(0, 2**32))
def test_delay_stays_within_bounds(policy: BackoffPolicy, attempt: int, seed: int) -> None:
    delay = policy.delay(attempt, random.Random(seed))
    assert policy.initial_s <= delay <= policy.max_s


@given(seed=st.integers(0, 2**32))
def test_default_policy_grows_to_its_cap_and_resets(seed: int) -> None:
    backoff = Backoff(BackoffPolicy(), random.Random(seed))
    delays = [backoff.next_delay() for _ in range(12)]
    assert 0.5 <= delays[0] <= 0.5
    assert all(15 <= d <= 30 for d in delays[7:])  # 0.5 * 2**7 = 64 > the 30 s cap
    backoff.reset()
    assert backoff.next_delay() == 0.5


def test_jitter_spreads_a_fleet() -> None:
    policy = BackoffPolicy()
    delays = {round(policy.delay(5, random.Random(s)), 3) for s in range(50)}
    assert len(delays) > 40


@pytest.mark.parametrize("args", [(0, 1, 2), (2, 1, 2), (0.5, 30, 0.5)])
def test_rejects_nonsense(args: tuple[float, float, float]) -> None:
    with pytest.raises(ValueError):
        BackoffPolicy(*args)
