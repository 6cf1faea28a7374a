"""Fixtures for the firmware tests: one dev keypair per session, a running rs1-ota stand-in."""

from collections.abc import Iterator

import pytest
from firmware.ota_harness import DEVICE_ID, PASSWORD, FakeDevice, make_release
from firmware.ota_standin import OtaWorkerStandIn, running
from rs1fw.signing import generate_keypair


@pytest.fixture(scope="session")
def keys() -> tuple[bytes, bytes]:
    return generate_keypair()


@pytest.fixture
def private_pem(keys: tuple[bytes, bytes]) -> bytes:
    return keys[0]


@pytest.fixture
def public_pem(keys: tuple[bytes, bytes]) -> bytes:
    return keys[1]


@pytest.fixture
def worker(private_pem: bytes) -> Iterator[OtaWorkerStandIn]:
    """The rs1-ota stand-in serving a signed RS-1 1.2.0 image (rollout ro-1)."""
    standin = OtaWorkerStandIn(make_release(private_pem), DEVICE_ID, PASSWORD)
    with running(standin) as started:
        yield started


@pytest.fixture
def device() -> FakeDevice:
    return FakeDevice()
