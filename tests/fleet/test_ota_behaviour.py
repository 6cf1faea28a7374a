"""The simulated devices' side of rollout policy v2 (issue 17): their UTC offsets and tags in
`state`, their local clock, and the post-install faults a bad firmware shows (reboot loops,
a silent radar, no telemetry)."""

import asyncio
import json
from collections import Counter

import pytest
from rs1contract.payloads import StatePayload

from rs1tools.fleet import commands
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


def _ota(**faults: float) -> FirmwareOta:
    return FirmwareOta("unused", "http://unused", seed=3, **faults)


def test_post_install_faults_are_seeded_shares() -> None:
    ota = _ota(reboot_loop=0.2, radar_silent=0.1, telemetry_silent=0.1)
    picks = Counter(ota.post_install_fault(f"{i:032x}") for i in range(2_000))
    assert 0.17 < picks["reboot_loop"] / 2_000 < 0.23
    assert 0.07 < picks["radar_silent"] / 2_000 < 0.13
    assert 0.07 < picks["telemetry_silent"] / 2_000 < 0.13
    same = _ota(reboot_loop=0.2, radar_silent=0.1, telemetry_silent=0.1)
    assert ota.post_install_fault("ab" * 16) == same.post_install_fault("ab" * 16)


@pytest.mark.parametrize(("version", "faulty"), [("2.0.0", True), ("1.9.0", False)])
def test_a_reboot_loop_restarts_the_device_again_and_again(offline_device, monkeypatch,
                                                           version, faulty) -> None:  # fmt: skip
    monkeypatch.setattr("rs1tools.fleet_ota.REBOOT_LOOP_EVERY_S", 0.01)
    device = offline_device(0)
    reboots: list[str | None] = []
    device.reboot = reboots.append  # type: ignore[method-assign]
    ota = _ota(reboot_loop=1.0, faulty_versions=frozenset({"2.0.0"}))

    async def scenario() -> None:
        await ota._installed(device, version)
        await asyncio.sleep(0.2)

    asyncio.run(scenario())
    assert reboots == ([None] * REBOOT_LOOP_COUNT if faulty else [])
