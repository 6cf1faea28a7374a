"""The device OTA client against the rs1-ota stand-in (a real local HTTP server)."""

import asyncio
import dataclasses
import itertools
import time

import httpx
import pytest
from firmware.ota_harness import (
    FAST,
    IMAGE_SIZE,
    PASSWORD,
    FakeDevice,
    make_client,
    make_release,
    run,
)
from firmware.ota_standin import OtaWorkerStandIn, Seen, running
from rs1fw.images import build_image
from rs1fw.ota_client import OtaClient
from rs1fw.ota_settings import OtaFaults, OtaSettings
from rs1fw.signing import generate_keypair

DOWNLOAD = [f"downloading:{p}" for p in (0, 25, 50, 75, 100)]
SUCCESS = [*DOWNLOAD, "verifying", "installing", "rebooting", "success"]


async def _install(
    worker: OtaWorkerStandIn,
    device: FakeDevice,
    public_pem: bytes,
    message: dict[str, object] | None = None,
    faults: OtaFaults | None = None,
    settings: OtaSettings = FAST,
) -> OtaClient:
    async with httpx.AsyncClient() as http:
        client = make_client(device, worker, http, public_pem, faults, settings=settings)
        await client.handle(message or worker.install_message())
        return client


def _errors(device: FakeDevice) -> list[object]:
    return [s.get("error") for s in device.statuses if s["status"] == "failed"]


def test_full_download_installs_and_reports(worker, device, public_pem):
    client = run(_install(worker, device, public_pem))

    assert device.trail() == SUCCESS
    assert device.reboots == ["1.2.0"] and client.installed_version == "1.2.0"
    assert [s.range for s in worker.firmware_gets()] == [None]
    assert {s["rollout_id"] for s in device.statuses} == {"ro-1"}
    assert {s["version"] for s in device.statuses} == {"1.2.0"}
    assert len({s["message_id"] for s in device.statuses}) == len(device.statuses)


def test_power_loss_mid_download_resumes_with_range(worker, device, public_pem):
    run(_install(worker, device, public_pem, faults=OtaFaults(power_loss_mid_download=True)))

    assert device.trail() == SUCCESS and device.power_losses == 1
    first, resumed = worker.firmware_gets()
    assert (first.range, first.status) == (None, 200)
    start = int(resumed.range.removeprefix("bytes=").removesuffix("-"))
    assert IMAGE_SIZE // 2 <= start < IMAGE_SIZE and resumed.status == 206


def test_connection_cut_mid_body_resumes_with_range(worker, device, public_pem):
    worker.cut_after = 20_000
    run(_install(worker, device, public_pem))

    assert device.trail() == SUCCESS
    assert [(s.range, s.status) for s in worker.firmware_gets()] == [
        (None, 200),
        ("bytes=20480-", 206),
    ]


def test_expired_url_is_refreshed_through_the_offer_endpoint(worker, device, public_pem):
    run(_install(worker, device, public_pem, message=worker.install_message(ttl_s=-1)))

    assert device.trail() == SUCCESS
    assert [(s.path.rsplit("/", 1)[-1], s.status) for s in worker.seen] == [
        ("1.2.0.bin", 403),
        ("offer", 200),
        ("1.2.0.bin", 200),
    ]
    offer = worker.seen[1]
    assert (offer.device_id, offer.password) == ("rs1-0001", PASSWORD)


def test_url_expiring_during_power_loss_resumes_on_the_fresh_url(worker, device, public_pem):
    slow_dark = dataclasses.replace(FAST, power_loss_dark_s=0.4)
    message = worker.install_message(ttl_s=0.3)
    faults = OtaFaults(power_loss_mid_download=True)
    run(_install(worker, device, public_pem, message, faults, settings=slow_dark))

    assert device.trail() == SUCCESS
    assert [s.status for s in worker.seen] == [200, 403, 200, 206]
    assert worker.seen[-1].range.startswith("bytes=")  # the partial bytes were kept


def test_nothing_pending_stops_quietly(worker, device, public_pem):
    worker.pending = False
    run(_install(worker, device, public_pem, message=worker.install_message(ttl_s=-1)))

    assert device.trail() == ["downloading:0"] and device.reboots == []


def test_bounded_transient_errors_are_retried_then_given_up(worker, device, public_pem):
    """425 is neither the cloud's outage nor the image's fault: a bounded number of tries."""
    worker.fail_status, worker.fail_next = 425, 2
    run(_install(worker, device, public_pem))
    assert device.trail() == SUCCESS

    worker.fail_next, retried = 99, FakeDevice()
    run(_install(worker, retried, public_pem))
    assert _errors(retried) == ["download_failed"] and retried.reboots == []
    assert worker.fail_next == 99 - FAST.download_attempts


# --- the cloud's outage: waited out, never the device's failure -----------------------------

OLD_ATTEMPTS = 6  # before: the sixth transient failure of a job reported download_failed
CUT = 20_480  # cut_after=20_000 ends the first body at a 4 KiB chunk boundary


def _range_start(seen: Seen) -> int | None:
    return None if seen.range is None else int(seen.range.removeprefix("bytes=").rstrip("-"))


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504, "reset"])
def test_an_outage_longer_than_the_old_attempts_resumes_with_range(
    worker, device, public_pem, status
):
    worker.cut_after = 20_000  # some bytes in Flash first, then the cloud goes away
    if status == "reset":
        worker.reset_after_cut = 3 * OLD_ATTEMPTS
    else:
        worker.fail_status, worker.fail_after_cut = status, 3 * OLD_ATTEMPTS
    run(_install(worker, device, public_pem))

    assert device.trail() == SUCCESS and _errors(device) == []
    gets = worker.firmware_gets()
    assert (gets[0].range, gets[0].status) == (None, 200)
    assert len(gets) == 2 + 3 * OLD_ATTEMPTS  # every outage answer was followed by a retry
    assert {_range_start(g) for g in gets[1:]} == {CUT}  # never restarted from byte 0
    assert gets[-1].status == 206


def test_an_outage_of_the_offer_endpoint_is_waited_out_too(worker, device, public_pem):
    worker.offer_fail_next = 2 * OLD_ATTEMPTS
    run(_install(worker, device, public_pem, message=worker.install_message(ttl_s=-1)))

    assert device.trail() == SUCCESS
    offers = [s.status for s in worker.seen if s.path.endswith("/offer")]
    assert offers == [503] * (2 * OLD_ATTEMPTS) + [200]


def _reported(device: FakeDevice, label: str) -> list[float]:
    """When the device published the status `label` ("downloading:31")."""
    return [at for at, t in zip(device.published_at, device.trail(), strict=True) if t == label]


def test_keepalive_reports_go_out_at_the_interval_while_waiting(worker, device, public_pem):
    keepalive, outage = 0.1, 0.75
    settings = dataclasses.replace(FAST, keepalive_s=keepalive, outage_backoff_max_s=0.05)
    worker.cut_after, worker.outage_after_cut_s = 20_000, outage
    run(_install(worker, device, public_pem, settings=settings))

    waiting = f"downloading:{CUT * 100 // IMAGE_SIZE}"  # 31: not a 25% mark, only keep-alives
    times = _reported(device, "downloading:25") + _reported(device, waiting)
    # the first keep-alive follows the last real report (25%) by one interval, then one per
    # interval: never more often, and not much later (a retry is at most 50 ms away; the
    # rest is slack for a loaded machine)
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert all(keepalive - 0.01 <= gap <= keepalive + 0.2 for gap in gaps), gaps
    assert 3 <= len(gaps) <= outage / keepalive + 1
    # with the keep-alives taken out, the trail is an ordinary successful install
    assert [t for t in device.trail() if t != waiting] == SUCCESS
    assert _errors(device) == [] and device.reboots == ["1.2.0"]


def test_an_exhausted_outage_budget_reports_failed(worker, device, public_pem):
    budget = 0.4
    settings = dataclasses.replace(
        FAST, outage_budget_s=budget, keepalive_s=0.1, outage_backoff_max_s=0.05
    )
    worker.fail_next = 10**6  # down for good
    started = time.monotonic()
    run(_install(worker, device, public_pem, settings=settings))

    assert _errors(device) == ["download_failed"] and device.reboots == []
    failed_at = device.published_at[-1]
    assert failed_at - started >= budget  # not a moment before the budget is spent
    assert failed_at - started < budget + 0.5
    trail = device.trail()
    assert trail[-1] == "failed" and set(trail[:-1]) == {"downloading:0"}
    assert 2 <= len(trail) - 2 <= budget / 0.1 + 1  # keep-alives while waiting
    assert len(worker.firmware_gets()) > OLD_ATTEMPTS


@pytest.mark.parametrize("status", [400, 404, 410, 451])
def test_a_4xx_that_can_never_succeed_fails_at_once(worker, device, public_pem, status):
    worker.fail_status, worker.fail_next = status, 10**6
    run(_install(worker, device, public_pem))

    assert _errors(device) == ["download_failed"] and device.reboots == []
    assert [s.status for s in worker.firmware_gets()] == [status]  # no retry
    assert device.trail() == ["downloading:0", "failed"]


def _tampered() -> bytes:
    image = bytearray(build_image("RS-1", "1.2.0", IMAGE_SIZE))
    image[40_000] ^= 0x01
    return bytes(image)


def test_tampered_image_is_refused(worker, device, private_pem, public_pem):
    worker.release = make_release(private_pem, served=_tampered())
    run(_install(worker, device, public_pem))

    assert device.trail()[-2:] == ["verifying", "failed"]
    assert _errors(device) == ["sha256_mismatch"] and device.reboots == []


def test_signature_from_another_key_is_refused(worker, device, public_pem):
    other_private, _ = generate_keypair()
    worker.release = make_release(other_private)
    run(_install(worker, device, public_pem))

    assert _errors(device) == ["signature_invalid"] and device.reboots == []


def test_oversized_image_is_refused(worker, device, private_pem, public_pem):
    image = build_image("RS-1", "1.2.0", IMAGE_SIZE)
    worker.release = make_release(private_pem, image=image, served=image + b"extra")
    run(_install(worker, device, public_pem))

    assert _errors(device) == ["size_mismatch"] and device.reboots == []


def test_signed_old_image_offered_as_new_version_is_refused(
    worker, device, private_pem, public_pem
):
    old_image = build_image("RS-1", "1.1.0", IMAGE_SIZE)
    worker.release = make_release(private_pem, "1.2.0", image=old_image)
    run(_install(worker, device, public_pem))

    assert _errors(device) == ["header_mismatch"] and device.reboots == []


def test_downgrade_and_reinstall_are_refused_without_downloading(worker, public_pem):
    newer, same = FakeDevice(firmware_version="1.3.0"), FakeDevice(firmware_version="1.2.0")
    run(_install(worker, newer, public_pem))
    run(_install(worker, same, public_pem))

    assert _errors(newer) == ["downgrade_refused"] and _errors(same) == ["already_installed"]
    assert worker.seen == [] and newer.reboots == same.reboots == []


def test_self_test_failure_rolls_back(worker, device, public_pem):
    faults = OtaFaults(install_failure_probability=1.0)
    client = run(_install(worker, device, public_pem, faults=faults))

    assert device.trail()[-3:] == ["installing", "rebooting", "failed"]
    assert _errors(device) == ["self_test_failed"]
    assert device.reboots == ["1.2.0", "1.0.0"] and client.installed_version == "1.0.0"


def test_self_test_outcome_is_seeded(worker, public_pem):
    async def outcome(seed: int) -> str:
        device = FakeDevice()
        async with httpx.AsyncClient() as http:
            faults = OtaFaults(install_failure_probability=0.5)
            client = make_client(device, worker, http, public_pem, faults, seed=seed)
            await client.handle(worker.install_message())
        return str(device.statuses[-1]["status"])

    first = [run(outcome(seed)) for seed in range(6)]
    assert first == [run(outcome(seed)) for seed in range(6)]
    assert set(first) == {"success", "failed"}


def test_bricked_device_goes_silent_after_installing(worker, device, public_pem):
    client = run(_install(worker, device, public_pem, faults=OtaFaults(bricked=True)))

    assert device.trail()[-1] == "installing" and device.bricked == 1
    assert device.reboots == [] and client.bricked
    before = (len(device.statuses), len(worker.seen))
    run(client.handle(worker.install_message()))
    assert (len(device.statuses), len(worker.seen)) == before


def test_cancel_mid_download_stops_before_install_and_keeps_partial(worker, device, public_pem):
    worker.chunk_delay_s = 0.01  # 16 chunks of 4 KiB, 10 ms apart

    async def scenario() -> None:
        async with httpx.AsyncClient() as http:
            client = make_client(device, worker, http, public_pem)
            quarter = device.when(lambda status: status.get("progress") == 25)
            job = asyncio.create_task(client.handle(worker.install_message()))
            await quarter.wait()
            await client.handle({"action": "cancel", "rollout_id": "ro-1"})
            await job
            assert device.trail() == DOWNLOAD[:2] and device.reboots == []

            worker.chunk_delay_s = 0  # a later trigger resumes from the kept bytes
            await client.handle(worker.install_message())

    run(scenario())
    assert device.trail()[-1] == "success"
    assert worker.firmware_gets()[-1].range not in (None, "bytes=0-")


def test_cancel_of_a_queued_job_and_duplicate_triggers(worker, device, public_pem):
    worker.chunk_delay_s = 0.005
    second = {**worker.install_message(), "rollout_id": "ro-2"}

    async def scenario() -> None:
        async with httpx.AsyncClient() as http:
            client = make_client(device, worker, http, public_pem)
            first = worker.install_message()
            started = device.when(lambda status: True)
            jobs = [asyncio.create_task(client.handle(m)) for m in (first, first, second)]
            await started.wait()
            await client.handle({"action": "cancel", "rollout_id": "ro-2"})
            await asyncio.gather(*jobs)

    run(scenario())
    assert device.trail() == SUCCESS  # one ro-1 job; the duplicate and ro-2 never ran
    assert {s["rollout_id"] for s in device.statuses} == {"ro-1"}


def test_reports_are_retried_while_offline(worker, public_pem):
    device = FakeDevice(offline_publishes=3)
    run(_install(worker, device, public_pem))
    assert device.trail() == SUCCESS


def test_prerelease_upgrade(private_pem, public_pem):
    release = make_release(private_pem, "2.0.0-rc.1", rollout_id="ro-rc")
    with running(OtaWorkerStandIn(release, "rs1-0001", PASSWORD)) as standin:
        device = FakeDevice(firmware_version="1.9.9")
        run(_install(standin, device, public_pem))
    assert device.trail() == SUCCESS and device.reboots == ["2.0.0-rc.1"]


def test_offer_refused_for_a_wrong_password_gives_up(worker, device, public_pem):
    worker.password = "another-hour"
    run(_install(worker, device, public_pem, message=worker.install_message(ttl_s=-1)))

    assert _errors(device) == ["download_failed"] and device.reboots == []
    offers = [s.status for s in worker.seen if s.path.endswith("/offer")]
    assert offers == [401] * (FAST.download_attempts)


def test_fresh_offer_for_another_rollout_supersedes_the_old_one(
    worker, device, private_pem, public_pem
):
    message = worker.install_message(ttl_s=-1)
    worker.release = make_release(private_pem, "1.3.0", rollout_id="ro-2")
    run(_install(worker, device, public_pem, message=message))

    by_rollout = [(s["rollout_id"], s["status"]) for s in device.statuses]
    assert by_rollout[0] == ("ro-1", "downloading")
    assert {r for r, _ in by_rollout[1:]} == {"ro-2"} and device.trail()[1:] == SUCCESS
    assert device.reboots == ["1.3.0"]
