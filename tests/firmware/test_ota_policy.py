"""The device honours the rollout policy (issue 17): jitter before downloading, install in the
local maintenance window after reporting `downloaded`, the security version (anti-rollback),
and the cloud's rollback."""

import asyncio
import time

import httpx
import pytest
from firmware.ota_harness import FakeDevice, make_client, make_release, run
from firmware.ota_standin import OtaWorkerStandIn
from hypothesis import given
from hypothesis import strategies as st
from rs1contract.ota import InstallWindow
from rs1fw import ota_client
from rs1fw.ota_settings import OtaFaults

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


def _hhmm(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def _window(start: int, end: int) -> dict[str, str]:
    return {"start": _hhmm(start), "end": _hhmm(end)}


@pytest.mark.parametrize(
    ("first", "later", "waits"),
    [
        (23 * 60, 23 * 60 + 45, True),  # 23:00, before a 23:30-01:00 window: waits to 23:45
        (30, None, False),  # 00:30: already inside it, past midnight
        (60 + 30, 0, True),  # 01:30: just closed; the next night at 00:00 it is open again
    ],
)
def test_a_window_across_midnight(worker, device, public_pem, first, later, waits):
    clock = Clock(first)
    message = {**worker.install_message(), "install": "window",
               "window": _window(23 * 60 + 30, 60)}  # fmt: skip

    async def scenario():
        async with httpx.AsyncClient() as http:
            client = make_client(device, worker, http, public_pem, local_minute=clock)
            job = asyncio.create_task(client.handle(message))
            await device.when(lambda s: s["status"] == "downloaded").wait()
            await asyncio.sleep(0.1)
            assert (device.reboots == []) is waits
            if later is not None:
                clock.minute = later
            await job

    run(scenario())
    assert device.trail()[-4:] == ["downloaded", "installing", "rebooting", "success"]


class FastClock:
    """A device clock running `speed` times real time from a local minute (loop time)."""

    def __init__(self, minute: int, speed: float) -> None:
        self.origin, self.minute, self.speed = time.monotonic(), minute, speed

    def __call__(self) -> int:
        return int(self.minute + (time.monotonic() - self.origin) * self.speed / 60) % 1440


def test_a_fast_clock_is_polled_often_enough_to_catch_a_short_window(
    worker, device, public_pem, monkeypatch
):
    monkeypatch.setattr(ota_client, "WINDOW_POLL_S", 5.0)  # the real cadence
    clock = FastClock(minute=60, speed=3600.0)  # 01:00, one device hour per real second
    message = {**worker.install_message(), "install": "window",
               "window": _window(90, 95)}  # fmt: skip  # 01:30-01:35: 1/12 s of real time
    seen: list[int] = []

    async def publish(report):
        if report["status"] == "installing":
            seen.append(clock())
        return await device.publish(report)

    async def scenario():
        async with httpx.AsyncClient() as http:
            client = make_client(device, worker, http, public_pem, local_minute=clock,
                                 clock_speed=3600.0)  # fmt: skip
            client._publish = publish
            await client.handle(message)

    run(scenario())
    assert device.trail()[-1] == "success"
    assert seen and 90 <= seen[0] < 95


@given(st.integers(0, 1439), st.integers(0, 1439), st.integers(0, 1439),
       st.sampled_from([1.0, 60.0, 3600.0, 86_400.0]))  # fmt: skip
def test_a_window_poll_never_steps_over_the_windows_start(start, end, minute, speed):
    window = InstallWindow(**_window(start, end))
    if window.contains(minute):
        return
    poll = ota_client.window_poll_s(window, minute, speed)
    to_start = (start - minute) % 1440  # whole minutes; the current one may be nearly over
    assert ota_client.MIN_POLL_S <= poll <= ota_client.WINDOW_POLL_S
    # Device seconds slept: never past the minute the window opens, or a quarter minute.
    assert poll * speed <= max((to_start - 1) * 60, 15) + 1e-6 or poll == ota_client.MIN_POLL_S


def test_the_jitter_is_seeded_and_recorded_per_rollout(worker, device, public_pem):
    message = {**worker.install_message(), "jitter_s": 1}
    first = run(_job(worker, device, public_pem, message)).jitter_waits
    again = run(_job(worker, FakeDevice(), public_pem, message)).jitter_waits
    assert list(first) == ["ro-1"] and first == again  # its own seeded stream: stable


def test_post_install_faults_ride_on_the_faults_and_the_client_reports_them(
    worker, device, public_pem
):
    faults = OtaFaults(reboot_loop=True, radar_silent=True)
    seen: list[tuple[str, tuple[str, ...]]] = []

    async def scenario():
        async with httpx.AsyncClient() as http:
            client = make_client(device, worker, http, public_pem, faults=faults,
                                 on_installed=lambda v: seen.append((v, post(client))))  # fmt: skip
            await client.handle(worker.install_message())

    def post(client):
        return client.post_install_faults

    run(scenario())
    assert seen == [("1.2.0", ("reboot_loop", "radar_silent"))]
    assert OtaFaults().post_install() == ()
    with pytest.raises(ValueError, match="reboot_loop"):
        OtaFaults(reboot_loop=True, reboot_loop_count=0)


def test_a_superseding_offer_is_followed_without_a_second_jitter(
    worker, device, private_pem, public_pem
):
    worker.policy = {"jitter_s": 1}
    message = worker.install_message(ttl_s=-1)  # expired: the fresh offer names ro-2
    worker.release = make_release(private_pem, "1.3.0", rollout_id="ro-2")
    client = run(_job(worker, device, public_pem, message))
    assert list(client.jitter_waits) == ["ro-1"]  # one wait for the job, none for ro-2
    assert device.reboots == ["1.3.0"] and device.trail()[-1] == "success"
