from hypothesis import given
from hypothesis import strategies as st
from rs1contract.semver import parse_version

from rs1.ota.bucketing import bucket, in_cohort
from rs1.ota.device_status import RANK, accepts

ids = st.text("0123456789abcdef", min_size=32, max_size=32)
percents = st.integers(0, 100)
versions = st.builds(
    lambda a, b, c, pre: f"{a}.{b}.{c}" + (f"-{pre}" if pre else ""),
    st.integers(0, 30),
    st.integers(0, 30),
    st.integers(0, 30),
    st.sampled_from(["", "alpha", "alpha.1", "beta", "rc.1", "rc.2", "1"]),
)


@given(st.text(min_size=1, max_size=20), ids, percents, percents)
def test_raising_the_percent_never_removes_a_device(
    rollout: str, device: str, a: int, b: int
) -> None:
    low, high = sorted((a, b))
    if in_cohort(rollout, device, low):
        assert in_cohort(rollout, device, high)
    assert in_cohort(rollout, device, 100) and not in_cohort(rollout, device, 0)


@given(st.text(min_size=1, max_size=20), ids)
def test_buckets_are_stable(rollout: str, device: str) -> None:
    assert bucket(rollout, device) == bucket(rollout, device)
    assert 0 <= bucket(rollout, device) < 10_000


def test_cohort_size_tracks_the_percent() -> None:
    devices = [f"{i:032x}" for i in range(20_000)]
    share = sum(in_cohort("r-1", d, 10) for d in devices) / len(devices)
    assert 0.09 < share < 0.11


@given(versions, versions, versions)
def test_semver_is_a_total_order(a: str, b: str, c: str) -> None:
    va, vb, vc = map(parse_version, (a, b, c))
    assert (va < vb) + (vb < va) + (va == vb) == 1
    if va <= vb <= vc:
        assert va <= vc
    assert str(va) == a


def test_semver_precedence_examples() -> None:
    order = ["1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-beta", "1.0.0-rc.1", "1.0.0", "1.0.1", "1.10.0"]
    assert sorted(order, key=parse_version) == order
    for bad in ("1.0", "01.0.0", "1.0.0-", "v1.0.0"):
        try:
            parse_version(bad)
        except ValueError:
            continue
        raise AssertionError(bad)


statuses = st.sampled_from(list(RANK))


@given(
    st.lists(
        st.tuples(
            st.sampled_from(
                ["downloading", "verifying", "installing", "rebooting", "success", "failed"]
            ),
            st.integers(0, 100),
        ),
        max_size=12,
    ),
    st.data(),
)
def test_status_never_moves_backwards_whatever_the_order(reports, data) -> None:
    shuffled = data.draw(st.permutations(reports))
    state, progress = "triggered", None
    for new, pct in shuffled:
        if accepts(state, progress, new, pct):
            assert RANK[new] >= RANK[state]
            state, progress = new, pct
    terminal = [r for r, _ in reports if RANK[r] == 9]
    if terminal:
        assert RANK[state] == 9


# --- keep-alive: a downloading report with unchanged progress ------------------------------
# A device waiting out a cloud outage repeats its progress every 60 s (firmware/README.md),
# so the per-device timeout, counted from the last applied report, does not fire.

progresses = st.none() | st.integers(0, 100)


@given(progresses)
def test_a_keepalive_with_unchanged_progress_is_applied(progress) -> None:
    assert accepts("downloading", progress, "downloading", progress)


@given(percents, percents)
def test_less_progress_is_still_refused(before, after) -> None:
    assert accepts("downloading", before, "downloading", after) == (after >= before)


@given(statuses, progresses, progresses)
def test_a_keepalive_never_moves_a_row_backwards_nor_out_of_an_end(
    current, current_progress, progress
) -> None:
    applied = accepts(current, current_progress, "downloading", progress)
    if RANK[current] > RANK["downloading"]:  # verifying, ..., and every end status
        assert not applied
    if applied:
        assert RANK[current] <= RANK["downloading"]
        if current == "downloading":
            assert (progress or 0) >= (current_progress or 0)
