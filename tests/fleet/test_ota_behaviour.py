"""The simulated devices' side of rollout policy v2 (issue 17): their UTC offsets and tags in
`state`, their local clock, and the post-install faults a bad firmware shows (reboot loops,
a silent radar, no telemetry)."""

import asyncio
import json
from collections import Counter
from typing import Any

import pytest
from rs1contract.payloads import StatePayload
from rs1fw.ota_settings import OtaFaults

from rs1tools.fleet import commands
from rs1tools.fleet.cli import config_for
from rs1tools.fleet_ota import REBOOT_LOOP_COUNT, FirmwareOta


def test_state_carries_the_devices_offset_and_tags(offline_device) -> None:
    offsets, sites = (0, 60, -300), ("berlin", "paris")
    devices = [offline_device(i, utc_offsets_min=offsets, device_tags={"site": sites})
               for i in range(12)]  # fmt: skip
    states = [StatePayload.model_validate(d.state().model_dump()) for d in devices]
    assert {s.utc_offset_min for s in states} <= set(offsets)
    assert {s.tags["site"] for s in states if s.tags} == set(sites)  # both picked, seeded
    again = offline_device(3, utc_offsets_min=offsets, device_tags={"site": sites})
    assert again.state().tags == devices[3].state().tags  # the same seed, the same device


def test_the_local_minute_is_the_clock_plus_the_offset(offline_device) -> None:
    device = offline_device(0, utc_offsets_min=(90,))
    utc = int(device.now() // 60) % 1440
    assert device.local_minute() == (utc + 90) % 1440


def test_a_silent_radar_reports_faults_and_no_targets(offline_device) -> None:
    device = offline_device(0)
    kinds = [o.topic.rsplit("/", 1)[-1] for o in commands.telemetry_frame(device, 1.0)]
    assert kinds == ["targets", "presence", "health"]
    device.radar_silent = True
    frames = [commands.telemetry_frame(device, 1.0) for _ in range(20)]
    health = [json.loads(f[0].payload) for f in frames if len(f) == 1]
    assert len(health) == 20 and not any(h["radar_ok"] for h in health)
    device.telemetry_silent = True
    assert commands.telemetry_frame(device, 1.0) == []


def _ota(**options: Any) -> FirmwareOta:
    return FirmwareOta("unused", "http://unused", seed=3, **options)


def test_post_install_faults_are_seeded_shares() -> None:
    ota = _ota(reboot_loop=0.2, radar_silent=0.1, telemetry_silent=0.1)
    picks = Counter(ota.post_install_fault(f"{i:032x}") for i in range(2_000))
    assert 0.17 < picks["reboot_loop"] / 2_000 < 0.23
    assert 0.07 < picks["radar_silent"] / 2_000 < 0.13
    assert 0.07 < picks["telemetry_silent"] / 2_000 < 0.13
    same = _ota(reboot_loop=0.2, radar_silent=0.1, telemetry_silent=0.1)
    assert ota.post_install_fault("ab" * 16) == same.post_install_fault("ab" * 16)


@pytest.mark.parametrize(("version", "faulty"), [("2.0.0", True), ("1.9.0", False)])
def test_a_reboot_loop_restarts_the_device_again_and_again(offline_device, version,
                                                           faulty) -> None:  # fmt: skip
    device = offline_device(0)
    device.connected = True
    reboots: list[str | None] = []
    device.reboot = reboots.append
    ota = _ota(reboot_loop=1.0, faulty_versions=frozenset({"2.0.0"}), reboot_loop_every_s=0.01,
               reboot_loop_count=3)  # fmt: skip
    faults = ota._faults(device.device_id)
    assert faults.reboot_loop and faults.reboot_loop_count == 3

    async def scenario() -> None:
        await ota._installed(device, version, faults)
        await asyncio.sleep(0.6)

    asyncio.run(scenario())
    assert reboots == ([None] * 3 if faulty else [])


def test_the_devices_faults_carry_its_post_install_fault() -> None:
    ota = _ota(reboot_loop=0.3, radar_silent=0.3, telemetry_silent=0.3, install_failure=0.5)
    for i in range(50):
        device_id = f"{i:032x}"
        faults = ota._faults(device_id)
        assert faults.post_install() == tuple(filter(None, [ota.post_install_fault(device_id)]))
    assert OtaFaults().reboot_loop_count == REBOOT_LOOP_COUNT  # the documented defaults


def test_a_rollback_to_a_good_version_heals_a_silent_device(offline_device) -> None:
    device = offline_device(0)
    ota = _ota(radar_silent=1.0, faulty_versions=frozenset({"2.0.0"}))
    faults = ota._faults(device.device_id)
    asyncio.run(ota._installed(device, "2.0.0", faults))
    assert device.radar_silent and not device.telemetry_silent
    asyncio.run(ota._installed(device, "1.0.0", faults))  # the cloud's rollback
    assert not device.radar_silent


def test_events_and_jitter_are_readable_per_device() -> None:
    ota = _ota()
    ota.events["d1"] += [(10.0, "downloaded", "2.0.0"), (20.0, "installing", "2.0.0")]
    assert ota.event_times("d1", "installing") == [20.0]
    assert ota.event_times("d2", "installing") == [] and ota.jitter_waits("d2") == {}


def test_the_cli_sets_offsets_and_tags() -> None:
    config = config_for(["--utc-offsets", "0,60,-300", "--tag", "site=berlin, paris",
                         "--tag", "floor=1"])  # fmt: skip
    assert config.utc_offsets_min == (0, 60, -300)
    assert config.device_tags == {"site": ("berlin", "paris"), "floor": ("1",)}
    assert config_for([]).utc_offsets_min == (0,) and config_for([]).device_tags == {}
    for bad in (["--utc-offsets", "east"], ["--utc-offsets", "900"], ["--tag", "site="]):
        with pytest.raises(ValueError):
            config_for(bad)
