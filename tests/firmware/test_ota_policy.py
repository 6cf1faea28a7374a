"""The device honours the rollout policy (issue 17): jitter before downloading, install in the
local maintenance window after reporting `downloaded`, the security version (anti-rollback),
and the cloud's rollback."""

import asyncio
import time

import httpx
import pytest
from firmware.ota_harness import FakeDevice, make_client, run
from firmware.ota_standin import OtaWorkerStandIn
from hypothesis import given
from hypothesis import strategies as st
from rs1contract.ota import InstallWindow
from rs1fw import ota_client

FINISH = ["verifying", "installing", "rebooting", "success"]


@pytest.fixture(autouse=True)
def _fast_polls(monkeypatch) -> None:
    monkeypatch.setattr(ota_client, "WINDOW_POLL_S", 0.01)
    monkeypatch.setattr(ota_client, "CANCEL_POLL_S", 0.005)


class Clock:
    """A local clock the test moves: minute of the day."""

    def __init__(self, minute: int) -> None:
        self.minute = minute

    def __call__(self) -> int:
        return self.minute


async def _job(worker, device, public_pem, message, **extra):
    async with httpx.AsyncClient() as http:
        client = make_client(device, worker, http, public_pem, **extra)
        await client.handle(message)
        return client


def test_jitter_delays_the_first_request(worker: OtaWorkerStandIn, device, public_pem):
    message = {**worker.install_message(), "jitter_s": 1}
    started = time.monotonic()
    client = run(_job(worker, device, public_pem, message))
    delay = client.jitter_waits["ro-1"]
    assert 0 <= delay <= 1
    assert device.trail()[-1] == "success"
    assert device.published_at[0] - started >= delay  # nothing went out before the wait


def test_a_cancel_during_the_jitter_wait_downloads_nothing(worker, device, public_pem):
    message = {**worker.install_message(), "jitter_s": 3600}

    async def scenario():
        async with httpx.AsyncClient() as http:
            client = make_client(device, worker, http, public_pem)
            job = asyncio.create_task(client.handle(message))
            await asyncio.sleep(0.05)
            await client.handle({"action": "cancel", "rollout_id": "ro-1"})
            await job

    run(scenario())
    assert worker.seen == [] and device.statuses == [] and device.reboots == []


def test_install_later_reports_downloaded_and_waits_for_the_window(worker, device, public_pem):
    clock = Clock(minute=1 * 60)  # 01:00 local; the window opens at 02:00
    message = {**worker.install_message(), "install": "window",
               "window": {"start": "02:00", "end": "04:00"}}  # fmt: skip

    async def scenario():
        async with httpx.AsyncClient() as http:
            client = make_client(device, worker, http, public_pem, local_minute=clock)
            job = asyncio.create_task(client.handle(message))
            downloaded = device.when(lambda s: s["status"] == "downloaded")
            await downloaded.wait()
            await asyncio.sleep(0.1)
            assert device.trail()[-1] == "downloaded" and device.reboots == []
            clock.minute = 2 * 60  # the window opens
            await job

    run(scenario())
    trail = device.trail()
    assert trail[-5:] == ["verifying", "downloaded", "installing", "rebooting", "success"]


def test_a_cancel_while_waiting_for_the_window_never_installs(worker, device, public_pem):
    message = {**worker.install_message(), "install": "window",
               "window": {"start": "02:00", "end": "04:00"}}  # fmt: skip

    async def scenario():
        async with httpx.AsyncClient() as http:
            client = make_client(device, worker, http, public_pem, local_minute=Clock(600))
            job = asyncio.create_task(client.handle(message))
            await device.when(lambda s: s["status"] == "downloaded").wait()
            await client.handle({"action": "cancel", "rollout_id": "ro-1"})
            await job

    run(scenario())
    assert device.trail()[-1] == "downloaded" and device.reboots == []


@given(st.integers(0, 1439), st.integers(0, 1439), st.integers(0, 3 * 1440))
def test_window_containment_is_the_minutes_from_start_to_end(start, end, minute):
    window = InstallWindow(start=f"{start // 60:02d}:{start % 60:02d}",
                           end=f"{end // 60:02d}:{end % 60:02d}")  # fmt: skip
    inside = {m % 1440 for m in range(start, end if end > start else end + 1440)}
    assert window.contains(minute) == (start == end or minute % 1440 in inside)


def test_a_lower_security_version_is_refused_before_downloading(worker, public_pem):
    device = FakeDevice(firmware_version="1.0.0")
    message = {**worker.install_message(), "security_version": 1}
    run(_job(worker, device, public_pem, message, security_version=2))
    assert [s.get("error") for s in device.statuses] == ["security_downgrade"]
    assert worker.seen == []


def test_an_install_raises_the_devices_security_version(worker, device, public_pem):
    message = {**worker.install_message(), "security_version": 3}
    client = run(_job(worker, device, public_pem, message, security_version=1))
    assert device.trail()[-1] == "success" and client.security_version == 3


@pytest.mark.parametrize(
    ("rollback", "installed_security", "error"),
    [
        (True, 0, None),  # the cloud's rollback, same security version: taken
        (False, 0, "downgrade_refused"),  # a plain downgrade: refused as ever
        (True, 1, "security_downgrade"),  # a rollback below the security version: never
    ],
)
def test_only_the_clouds_rollback_to_the_same_security_version_downgrades(
    worker, public_pem, rollback, installed_security, error
):
    device = FakeDevice(firmware_version="1.3.0")  # the stand-in offers 1.2.0
    message = {**worker.install_message(), "rollback": rollback, "security_version": 0}
    run(_job(worker, device, public_pem, message, security_version=installed_security))
    if error is None:
        assert device.trail()[-1] == "success" and device.reboots == ["1.2.0"]
    else:
        assert [s.get("error") for s in device.statuses] == [error]


def test_on_installed_runs_after_the_self_test(worker, device, public_pem):
    seen: list[str] = []
    run(_job(worker, device, public_pem, worker.install_message(), on_installed=seen.append))
    assert seen == ["1.2.0"] and device.trail()[-1] == "success"
