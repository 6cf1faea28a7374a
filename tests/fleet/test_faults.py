"""Fault parsing and the seed-determined assignment of faults to devices."""

import asyncio

import aiomqtt
import pytest
from hypothesis import given
from hypothesis import strategies as st

from rs1tools.fleet.faults import (
    DEFAULT_FRACTION,
    Fault,
    FaultSpec,
    assign_faults,
    fault_count,
    parse_faults,
)


def test_parse_takes_fractions_and_defaults() -> None:
    specs = parse_faults("flaky:0.1, wrong-password ,power-loss:0")
    assert specs == (
        FaultSpec(Fault.FLAKY, 0.1),
        FaultSpec(Fault.WRONG_PASSWORD, DEFAULT_FRACTION[Fault.WRONG_PASSWORD]),
        FaultSpec(Fault.POWER_LOSS, 0.0),
    )
    assert parse_faults("") == ()


@pytest.mark.parametrize(
    "text",
    [
        "gremlins:0.1",
        "flaky:1.5",
        "flaky:-0.1",
        "flaky:x",
        "flaky,flaky:0.2",
        "flaky:0.6,power-loss:0.5",
    ],
)
def test_parse_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        parse_faults(text)


def test_fault_count_rounds_but_never_drops_a_requested_fault() -> None:
    assert fault_count(0.1, 1000) == 100
    assert fault_count(0.02, 10) == 1  # 0.2 devices would round to none
    assert fault_count(0.0, 10) == 0
    assert fault_count(1.0, 7) == 7


fractions = st.fixed_dictionaries(
    {},
    optional={f: st.floats(0, 0.2, allow_nan=False) for f in Fault},
)


@given(devices=st.integers(1, 400), chosen=fractions, seed=st.integers(0, 2**32))
def test_assignment_is_deterministic_and_exact(
    devices: int, chosen: dict[Fault, float], seed: int
) -> None:
    specs = tuple(FaultSpec(f, x) for f, x in chosen.items())
    first = assign_faults(devices, specs, seed)
    assert first == assign_faults(devices, specs, seed)
    assert first == assign_faults(devices, tuple(reversed(specs)), seed)  # listing order is moot
    assert len(first) == devices
    total = 0
    for fault in Fault:  # canonical order: later faults get what is left
        want = fault_count(chosen.get(fault, 0.0), devices)
        got = first.count(fault)
        assert got == min(want, devices - total)
        total += got


@given(seed=st.integers(0, 2**32))
def test_seeds_pick_different_devices(seed: int) -> None:
    specs = (FaultSpec(Fault.FLAKY, 0.5),)
    picks = {tuple(assign_faults(40, specs, s)) for s in (seed, seed + 1, seed + 2)}
    assert len(picks) > 1


class RefusingClient:
    """A broker link whose SUBACK refuses one of the device's own topics (a cached denial
    left by a transient authz failure)."""

    async def subscribe(self, topics: list[tuple[str, int]]) -> list[int]:
        return [1, 0x80, 1][: len(topics)]


def test_a_refused_own_subscription_ends_the_session_so_the_device_reconnects(
    offline_device,
) -> None:

    device = offline_device()
    with pytest.raises(aiomqtt.MqttError, match="own subscription refused"):
        asyncio.run(device._subscribe(RefusingClient()))
    assert device.cut_reason == "own subscription refused"  # counted as the drop's cause
