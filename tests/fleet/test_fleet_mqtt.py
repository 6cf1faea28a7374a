"""The fleet against a real MQTT broker started in-process (amqtt, plain TCP).

Anonymous for the client-side checks (connect, subscribe, telemetry, config/update and
diag/request round trips); with HMAC authentication for the refusal faults.
"""

import asyncio
import contextlib
import gc
import json
from collections import defaultdict
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import aiomqtt
from rs1contract.payloads import TELEMETRY_KINDS, ConfigStatus, StatePayload
from rs1contract.topics import device_topic
from rs1fw.ota_settings import OtaFaults

from rs1tools.fleet import Fleet, FleetConfig, parse_faults
from rs1tools.fleet.backoff import BackoffPolicy
from rs1tools.fleet.broker import running_broker
from rs1tools.fleet.config import FaultTiming
from rs1tools.fleet.identity import write_secrets
from rs1tools.fleet_ota import FirmwareOta
from rs1tools.localstack import free_port

Inbox = dict[str, list[bytes]]
HEALTH = "telemetry/health"
ZONES = {"zones": [{"name": "desk", "vertices": [[-500, 500], [500, 500], [0, 2000]]}]}


def run(scenario: Coroutine[Any, Any, None], within_s: float = 60) -> None:
    asyncio.run(asyncio.wait_for(scenario, within_s))
    # amqtt leaves some server-side transports unclosed; collect them here, because their
    # finalizers running inside a later ast.parse trip a CPython 3.11 bug (SystemError).
    gc.collect()


async def stop(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError, aiomqtt.MqttError):
        await task


async def collect(client: aiomqtt.Client, inbox: Inbox) -> None:
    async for message in client.messages:
        inbox[message.topic.value].append(bytes(message.payload))  # type: ignore[arg-type]


async def until(check: Callable[[], bool], within_s: float = 10) -> None:
    deadline = asyncio.get_running_loop().time() + within_s
    while not check():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)


def topic_of(device_id: str, path: str) -> str:
    return device_topic(device_id, *path.split("/"))


async def command(cloud: aiomqtt.Client, device_id: str, path: str, body: object) -> None:
    await cloud.publish(topic_of(device_id, path), json.dumps(body), qos=1)


def parse(kind: str, raw: bytes) -> Any:
    return TELEMETRY_KINDS[kind].model_validate_json(raw)


def fast(port: int, **overrides: Any) -> FleetConfig:
    base: dict[str, Any] = {
        "mqtt_port": port,
        "duration_s": None,
        "telemetry_interval_s": 0.3,
        "ramp_s": 0.2,
        "duplicate_rate": 0.0,
        "backoff": BackoffPolicy(0.1, 0.5),
    }
    return FleetConfig(**(base | overrides))


def test_devices_connect_publish_and_answer(tmp_path: Path, identities: Callable) -> None:
    made = identities(4)
    write_secrets(tmp_path / "secrets.csv", made)
    port = free_port()
    config = fast(port, devices=4, secrets=tmp_path / "secrets.csv")
    target = made[0].device_id
    inbox: Inbox = defaultdict(list)

    async def scenario() -> None:
        async with running_broker(port=port), aiomqtt.Client("127.0.0.1", port) as cloud:
            await cloud.subscribe("opticworks/#", qos=1)
            listener = asyncio.create_task(collect(cloud, inbox))
            async with Fleet(config) as fleet:
                assert await fleet.wait_until(lambda f: len(f.connected_ids()) == 4, 10)
                await until(lambda: all(topic_of(d.device_id, HEALTH) in inbox for d in made))
                await command(cloud, target, "config/update", {"version": 3, "config": ZONES})
                await command(cloud, target, "config/update", {"version": 2, "config": ZONES})
                await command(cloud, target, "diag/request", {"request_id": "r-1"})
                await command(cloud, target, "ota/trigger", {"version": "1.1.0"})
                await until(lambda: len(inbox[topic_of(target, "config/status")]) == 2)
                await until(lambda: topic_of(target, "telemetry/diag") in inbox)
                await until(lambda: fleet.device(target).ota_triggers != [])
                device = fleet.device(target)
                assert device.applied_version == 3 and device.applied_config == ZONES
                assert [z.zone_id for z in device.radar.zones] == ["desk"]
                assert device.ota_triggers == [{"version": "1.1.0"}]
            await stop(listener)
        summary = fleet.summary()
        assert summary.connected == summary.connected_now == 4
        assert summary.config_acks == {"applied": 1, "rejected": 1}
        assert summary.diag_answers == 1 and summary.ota_triggers == 1
        assert summary.errors == summary.refused == summary.drops == summary.connect_errors == 0
        assert summary.messages_acked >= summary.messages_sent - 4  # at most one in flight each

    run(scenario())
    statuses = [
        ConfigStatus.model_validate_json(p) for p in inbox[topic_of(target, "config/status")]
    ]
    assert [(s.version, s.status) for s in statuses] == [(3, "applied"), (2, "rejected")]
    diag = parse("diag", inbox[topic_of(target, "telemetry/diag")][0])
    assert diag.request_id == "r-1" and diag.result["config_version"] == 3
    for d in made:
        state = StatePayload.model_validate_json(inbox[topic_of(d.device_id, "state")][0])
        assert state.online and state.firmware_version == "1.0.0"
        ids = [
            parse(kind, raw).message_id
            for kind in ("targets", "presence", "health")
            for raw in inbox[topic_of(d.device_id, f"telemetry/{kind}")]
        ]
        assert ids and len(ids) == len(set(ids))  # duplicate_rate=0: every id unique


def test_refusal_faults_against_hmac_auth(identities: Callable) -> None:
    made = identities(6)
    port = free_port()
    faults = parse_faults("wrong-password:0.17,clock-skew:0.17")
    config = fast(port, devices=6, identities=tuple(made), faults=faults, seed=9)

    async def scenario() -> None:
        async with running_broker(port=port, secrets=made), Fleet(config) as fleet:
            bad = [d for d in fleet.devices if d.fault is not None]
            assert sorted(str(d.fault) for d in bad) == ["clock-skew", "wrong-password"]
            assert await fleet.wait_until(lambda f: len(f.connected_ids()) == 4, 10)
            assert await fleet.wait_until(lambda f: f.stats.refused.total() >= 4, 10)
            assert all(d.connects == 0 and d.last_refusal == "not_authorized" for d in bad)
        summary = fleet.summary()
        assert summary.connected == 4 and summary.faults == {"clock-skew": 1, "wrong-password": 1}
        assert summary.refused_by_reason == {"not_authorized": summary.refused}

    run(scenario())


def test_flaky_links_power_loss_and_foreign_probes(identities: Callable) -> None:
    made = identities(6)
    port = free_port()
    timing = FaultTiming(
        flaky_mean_s=0.3, power_loss_mean_s=0.3, power_off_s=(0.2, 0.4), foreign_interval_s=0.2
    )
    faults = parse_faults("flaky:0.17,power-loss:0.17,foreign-topic:0.17")
    config = fast(port, devices=6, identities=tuple(made), faults=faults, timing=timing)
    inbox: Inbox = defaultdict(list)

    async def scenario() -> None:
        async with running_broker(port=port), aiomqtt.Client("127.0.0.1", port) as cloud:
            await cloud.subscribe("opticworks/+/state", qos=1)
            listener = asyncio.create_task(collect(cloud, inbox))
            async with Fleet(config) as fleet:
                by_fault = {str(d.fault): d for d in fleet.devices if d.fault}
                flaky, dark = by_fault["flaky"], by_fault["power-loss"]
                assert await fleet.wait_until(
                    lambda f: flaky.reconnects >= 2 and dark.boots >= 3, 15
                )
                assert await fleet.wait_until(lambda f: f.stats.foreign_subscribe >= 2, 10)
                wills = inbox[device_topic(flaky.device_id, "state")]
                await until(
                    lambda: any(not StatePayload.model_validate_json(w).online for w in wills)
                )
            await stop(listener)
        summary = fleet.summary()
        assert summary.drops >= 4 and summary.power_cycles >= 2 and summary.reconnects >= 4
        assert set(summary.drops_by_reason) == {"injected flaky", "injected power-loss"}
        # amqtt has no ACL, so the probes succeed here; the counters must show it
        assert summary.foreign["subscribe_granted"] == summary.foreign["subscribe"] >= 2
        assert summary.foreign_attempts == summary.foreign["publish"] + summary.foreign["subscribe"]
        assert summary.errors == 0

    run(scenario())


class PostInstallOta:
    """An OTA handler that skips the download: each trigger names the post-install fault
    the 'new firmware' shows, acted out by FirmwareOta's hook as after a real install."""

    def __init__(self) -> None:
        self.firmware = FirmwareOta("unused", "http://unused")

    async def on_trigger(self, device: Any, trigger: dict[str, object]) -> None:
        fault = str(trigger["fault"])
        faults = OtaFaults(**{fault: True}, reboot_loop_every_s=0.6, reboot_loop_count=3)
        await self.firmware._installed(device, "2.0.0", faults)


def test_post_install_faults_over_mqtt(tmp_path: Path, identities: Callable) -> None:
    made = identities(3)
    write_secrets(tmp_path / "secrets.csv", made)
    port = free_port()
    timing = FaultTiming(reboot_off_s=0.2)
    config = fast(port, devices=3, secrets=tmp_path / "secrets.csv", timing=timing)
    looping, radar, quiet = (d.device_id for d in made)
    inbox: Inbox = defaultdict(list)

    def count(device_id: str, path: str) -> int:
        return len(inbox[topic_of(device_id, path)])

    async def scenario() -> None:
        async with running_broker(port=port), aiomqtt.Client("127.0.0.1", port) as cloud:
            await cloud.subscribe("opticworks/#", qos=1)
            listener = asyncio.create_task(collect(cloud, inbox))
            async with Fleet(config, PostInstallOta()) as fleet:
                assert await fleet.wait_until(lambda f: len(f.connected_ids()) == 3, 10)
                await until(lambda: fleet.device(looping).uptime_s() >= 2)
                states_before = count(looping, "state")
                for device_id, fault in ((looping, "reboot_loop"), (radar, "radar_silent"),
                                         (quiet, "telemetry_silent")):  # fmt: skip
                    await command(cloud, device_id, "ota/trigger", {"fault": fault})
                silent = fleet.device(radar), fleet.device(quiet)
                await until(lambda: silent[0].radar_silent and silent[1].telemetry_silent)
                await asyncio.sleep(0.4)  # a frame already on its way may still land
                kinds = ("telemetry/targets", "telemetry/presence", HEALTH)
                marks = {(d, p): count(d, p) for d in (radar, quiet) for p in kinds}
                device = fleet.device(looping)
                await until(lambda: device.boots == 4 and device.connected, 15)
                await until(lambda: count(looping, "state") >= states_before + 3)
                await asyncio.sleep(1.0)
                grown = {k: count(*k) - v for k, v in marks.items()}
                assert grown[(radar, "telemetry/targets")] == 0
                assert grown[(radar, "telemetry/presence")] == 0
                assert grown[(radar, HEALTH)] >= 2
                assert not any(grown[(quiet, p)] for p in kinds)
                assert fleet.device(quiet).connected  # state and MQTT stay up
                health = [parse("health", raw) for raw in inbox[topic_of(radar, HEALTH)]]
                assert not any(h.radar_ok for h in health[-grown[(radar, HEALTH)] :])
            await stop(listener)

    run(scenario())
    states = [StatePayload.model_validate_json(raw) for raw in inbox[topic_of(looping, "state")]]
    announced = [s for s in states if s.online]
    # Each reboot re-announces with a fresh, low uptime: the loop really restarted it.
    assert len(announced) >= 4 and all((s.uptime_s or 0) < 2 for s in announced[-3:])
