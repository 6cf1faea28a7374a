"""Monte-Carlo of the health-gated Wilson policy (issue 17), the way the install-only policy
was tested (test_safety.py): 10,000 devices, stages 5 → 10 → 25 → 50 → 100%, threshold 2%."""

import random

from rollout_sim import simulate_gated

FLEET, RUNS = 10_000, 4_000
HALF = FLEET // 2


def _runs(seed: int, install: float, post: float, extend: bool = True) -> list[int | None]:
    rnd = random.Random(seed)
    return [simulate_gated(rnd, FLEET, install, post, extend=extend) for _ in range(RUNS)]


def _share(outcomes: list[int | None], before: int | None = None) -> float:
    hits = [o for o in outcomes if o is not None and (before is None or o < before)]
    return len(hits) / len(outcomes)


def test_a_post_install_failure_is_aborted_before_half_the_fleet(capsys) -> None:
    bad = _runs(17, install=0.0, post=0.03)
    good = _runs(18, install=0.0, post=0.005)
    borderline = _runs(19, install=0.0, post=0.01)
    held = _runs(21, install=0.0, post=0.03, extend=False)
    with capsys.disabled():
        print(
            f"\n[monte-carlo {FLEET} devices, {RUNS} runs] 3% post-install failures: aborted "
            f"before 50% in {_share(bad, HALF):.1%} | good (0.5%): falsely aborted in "
            f"{_share(good):.1%} | 1%: {_share(borderline):.1%} | 3% with "
            f"on_inconclusive=hold: aborted {_share(held):.1%}"
        )
    assert _share(bad, HALF) >= 0.99
    assert _share(good) <= 0.03
    assert _share(borderline) <= 0.05  # half the threshold: the install-only bound
    # Holding an inconclusive stage stops the bad image early, too, but leaves it waiting
    # for an admin instead of aborting it: `extend` gathers the evidence.
    assert _share(held) < _share(bad, HALF)
