"""Fault injection: which devices misbehave, and how.

Each device gets at most one fault so per-fault outcomes stay readable (the two
wrong-password devices are exactly the ones refused). Assignment depends only on the seed,
the fleet size and the requested fractions, never on the order faults were listed in.
"""

import math
from dataclasses import dataclass
from enum import StrEnum

from rs1tools.fleet.rng import seeded


class Fault(StrEnum):
    FLAKY = "flaky"  # random abrupt socket drops, then a normal reconnect
    WRONG_PASSWORD = "wrong-password"  # noqa: S105 — a fault name; always refused
    CLOCK_SKEW = "clock-skew"  # device clock off by >= 2 h, so its hourly password is refused
    FOREIGN_TOPIC = "foreign-topic"  # pokes at other devices' topics; must be denied
    POWER_LOSS = "power-loss"  # abrupt drop, stays dark a while, boots again


DEFAULT_FRACTION: dict[Fault, float] = {
    Fault.FLAKY: 0.1,
    Fault.WRONG_PASSWORD: 0.02,
    Fault.CLOCK_SKEW: 0.05,
    Fault.FOREIGN_TOPIC: 0.02,
    Fault.POWER_LOSS: 0.05,
}


@dataclass(frozen=True)
class FaultSpec:
    fault: Fault
    fraction: float


def parse_faults(text: str) -> tuple[FaultSpec, ...]:
    """`flaky:0.1,wrong-password` → specs; a bare name takes its default fraction."""
    specs: dict[Fault, FaultSpec] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, _, fraction = item.partition(":")
        try:
            fault = Fault(name.strip())
        except ValueError:
            known = ", ".join(f.value for f in Fault)
            raise ValueError(f"unknown fault {name!r} (known: {known})") from None
        if fault in specs:
            raise ValueError(f"fault {fault.value!r} given twice")
        value = float(fraction) if fraction else DEFAULT_FRACTION[fault]
        if not 0 <= value <= 1:
            raise ValueError(f"fraction for {fault.value!r} must be within 0..1, got {value}")
        specs[fault] = FaultSpec(fault, value)
    if sum(s.fraction for s in specs.values()) > 1 + 1e-9:
        raise ValueError("fault fractions add up to more than 1 (each device gets one fault)")
    return tuple(specs.values())


def fault_count(fraction: float, devices: int) -> int:
    """Round to the nearest device, but a requested fault always hits at least one."""
    if fraction <= 0 or devices <= 0:
        return 0
    return min(devices, max(1, math.floor(fraction * devices + 0.5)))


def assign_faults(devices: int, specs: tuple[FaultSpec, ...], seed: int) -> list[Fault | None]:
    """Per device index: its fault or None. Deterministic for (devices, specs, seed)."""
    order = list(range(devices))
    seeded("rs1-fleet-faults", seed).shuffle(order)
    assigned: list[Fault | None] = [None] * devices
    by_fault = {s.fault: s for s in specs}
    taken = 0
    for fault in Fault:  # canonical order, so the listing order of --faults does not matter
        if fault not in by_fault:
            continue
        count = min(fault_count(by_fault[fault].fraction, devices), devices - taken)
        for index in order[taken : taken + count]:
            assigned[index] = fault
        taken += count
    return assigned
