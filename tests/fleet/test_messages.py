"""Every message the fleet publishes parses back through the shared payload models."""

import asyncio
import json
import math
import random
from collections.abc import Callable

from hypothesis import given, settings
from hypothesis import strategies as st
from rs1contract.payloads import TELEMETRY_KINDS, ConfigStatus, StatePayload
from rs1contract.topics import device_of, device_topic

from rs1tools.fleet import commands, messages
from rs1tools.fleet.device import SimDevice
from rs1tools.fleet.messages import MessageIds, Outbound
from rs1tools.fleet.radar import Radar, point_in_polygon


def kind_of(out: Outbound) -> str:
    return out.topic.rsplit("/", 1)[1]


def test_state_and_will_validate(offline_device: Callable[..., SimDevice]) -> None:
    device = offline_device()
    out = messages.state(device.device_id, device.state())
    assert out.topic == device_topic(device.device_id, "state")
    state = StatePayload.model_validate_json(out.payload)
    assert state.online and state.firmware_version == "1.0.0" and state.ip
    assert StatePayload.model_validate_json(messages.offline_state()).online is False


@given(seed=st.integers(0, 10_000), ticks=st.integers(1, 30))
@settings(max_examples=40, deadline=None)
def test_telemetry_frames_validate_and_agree(seed: int, ticks: int) -> None:
    radar = Radar(random.Random(seed))
    for _ in range(ticks):
        targets = radar.step(1.0)
        assert len(targets) <= 3
        for t in targets:  # distance is consistent with x/y
            assert abs(t.distance_mm - math.hypot(t.x_mm, t.y_mm)) <= 0.5
        zones = radar.presence(targets)
        assert 2 <= len(zones) <= 3
        for zone, spec in zip(zones, radar.zones, strict=True):
            inside = sum(point_in_polygon(t.x_mm, t.y_mm, spec.polygon) for t in targets)
            assert zone.target_count == inside and zone.occupied == (inside > 0)


def test_device_frame_round_trips(offline_device: Callable[..., SimDevice]) -> None:
    device = offline_device()
    for _ in range(20):
        frame = commands.telemetry_frame(device, 1.0)
        assert [kind_of(o) for o in frame] == ["targets", "presence", "health"]
        for out in frame:
            assert device_of(out.topic) == device.device_id
            model = TELEMETRY_KINDS[kind_of(out)].model_validate_json(out.payload)
            assert model.message_id == out.message_id  # type: ignore[attr-defined]


def test_message_ids_are_unique_per_device_across_boots(
    offline_device: Callable[..., SimDevice],
) -> None:
    device = offline_device()
    seen: set[str] = set()
    for _ in range(3):
        for _ in range(200):
            for out in commands.telemetry_frame(device, 0.5):
                assert out.message_id not in seen
                seen.add(out.message_id)  # type: ignore[arg-type]
        device._boot()  # power cycle: the sequence restarts, the boot counter does not
    assert len(seen) == 3 * 200 * 3
    assert all(i.startswith(device.device_id[:8] + "-") for i in seen)


def test_ids_of_different_devices_differ(offline_device: Callable[..., SimDevice]) -> None:
    a, b = offline_device(0), offline_device(1)
    assert MessageIds(a.device_id, 1).next() != MessageIds(b.device_id, 1).next()


def test_diag_answer_validates(offline_device: Callable[..., SimDevice]) -> None:
    device = offline_device()
    result = commands.diagnostics(device, "basic")
    out = messages.diag(device.device_id, device.ids.next(), device.ts_ms(), "req-1", result)
    diag = TELEMETRY_KINDS["diag"].model_validate_json(out.payload)
    assert diag.request_id == "req-1"  # type: ignore[attr-defined]
    assert set(result) >= {"uptime_s", "free_heap", "rssi", "reconnects", "firmware_version"}


def test_config_status_topic() -> None:
    status = ConfigStatus(version=3, status="applied")
    out = messages.config_status("ab" * 16, status)
    assert out.topic == device_topic("ab" * 16, "config", "status")
    assert json.loads(out.payload) == {"version": 3, "status": "applied"}


class FakeClient:
    def __init__(self) -> None:
        self.published: list[tuple[str, bytes, int]] = []

    async def publish(self, topic: str, payload: bytes, qos: int = 0) -> None:
        self.published.append((topic, payload, qos))


def test_duplicates_reuse_the_message_id(offline_device: Callable[..., SimDevice]) -> None:
    device = offline_device(duplicate_rate=1.0)
    client = FakeClient()
    frame = commands.telemetry_frame(device, 1.0)
    state = messages.state(device.device_id, device.state())

    async def send_all() -> None:
        for out in frame:
            await device.send(client, out)  # type: ignore[arg-type]
        await device.send(client, state)  # type: ignore[arg-type]  # not telemetry: once

    asyncio.run(send_all())
    assert [p[0] for p in client.published] == [o.topic for o in frame for _ in (1, 2)] + [
        state.topic
    ]
    assert all(p[2] == 1 for p in client.published)
    stats = device.ctx.stats
    assert (stats.messages_sent, stats.messages_acked, stats.duplicates_sent) == (7, 7, 3)
