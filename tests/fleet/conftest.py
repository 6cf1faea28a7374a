"""Fixtures for the simulated fleet's tests (no HTTP API, no EMQX: a local amqtt broker)."""

import asyncio
import os
from collections.abc import Callable

import pytest

from rs1.identity.device_id import device_id_from_mac
from rs1tools.fleet.clock import SimClock
from rs1tools.fleet.config import FleetConfig
from rs1tools.fleet.device import DeviceContext, SimDevice
from rs1tools.fleet.identity import DeviceIdentity, fleet_macs
from rs1tools.fleet.ota import RecordingOta
from rs1tools.fleet.stats import FleetStats

SCALE_ENV = "RS1_FLEET_SCALE"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", f"slow: scale measurement; runs only with {SCALE_ENV}=1")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    skip = pytest.mark.skip(reason=f"slow; set {SCALE_ENV}=1 to run")
    for item in items:
        if "slow" in item.keywords and os.environ.get(SCALE_ENV) != "1":
            item.add_marker(skip)


def make_identities(count: int, seed: int = 5) -> list[DeviceIdentity]:
    return [
        DeviceIdentity(m, device_id_from_mac(m), f"test-secret-{m}")
        for m in fleet_macs(count, seed)
    ]


@pytest.fixture
def identities() -> Callable[..., list[DeviceIdentity]]:
    return make_identities


@pytest.fixture
def offline_device() -> Callable[..., SimDevice]:
    """A device wired to a context but never connected (for its pure parts)."""

    def build(index: int = 0, **overrides: object) -> SimDevice:
        config = FleetConfig(**{"devices": 1, **overrides})
        ctx = DeviceContext(
            config=config,
            stats=FleetStats(),
            clock=SimClock(),
            stop=asyncio.Event(),
            ota=RecordingOta(),
            peers=[],
        )
        device = SimDevice(index, make_identities(index + 1)[index], None, ctx)
        device._boot()
        return device

    return build
