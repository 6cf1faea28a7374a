"""The telemetry sent-log (the fleet's side of a message ledger) and the state heartbeat.

The ledger must balance against what the broker delivered: every message id a subscriber
saw was logged for the device it came from, with as many copies as were published; every
copy the log calls acked was delivered; QoS 0 acknowledges nothing.
"""

import asyncio
import itertools
import json
import tracemalloc
from collections import Counter, defaultdict
from collections.abc import Callable
from typing import Any

import aiomqtt
import pytest
import typer
from fleet.test_fleet_mqtt import fast, run, stop, until
from rs1contract.payloads import StatePayload

from rs1tools.fleet import Fleet, SimDevice
from rs1tools.fleet import messages as fleet_messages
from rs1tools.fleet.broker import running_broker
from rs1tools.fleet.cli import config_for
from rs1tools.fleet.sent_log import SentLog
from rs1tools.localstack import free_port

# --- the log itself ----------------------------------------------------------------------


def test_copies_duplicates_and_acks_add_up() -> None:
    log = SentLog()
    log.record_sent("dev-a", "a-1-1", duplicate=False)
    log.record_sent("dev-a", "a-1-1", duplicate=True)
    log.record_sent("dev-a", "a-1-2", duplicate=False)
    log.record_sent("dev-b", "b-1-1", duplicate=False)
    log.record_acked("a-1-1")
    log.record_acked("a-1-1", "dev-a")
    log.record_acked("b-1-1")

    assert (log.sent, log.unique, log.duplicates, log.acked, log.unacked) == (4, 3, 1, 3, 1)
    ids = log.ids()
    assert {k: (r.device_id, r.copies, r.acked_copies) for k, r in ids.items()} == {
        "a-1-1": ("dev-a", 2, 2),
        "a-1-2": ("dev-a", 1, 0),
        "b-1-1": ("dev-b", 1, 1),
    }
    assert log.summary(qos=1) == {
        "qos": 1,
        "sent": 4,
        "unique": 3,
        "duplicates": 1,
        "acked": 3,
        "unacked": 1,
    }


def test_an_ack_for_a_copy_never_sent_is_refused() -> None:
    log = SentLog()
    with pytest.raises(ValueError):
        log.record_acked("nope")
    log.record_sent("dev-a", "a-1-1", duplicate=False)
    log.record_acked("a-1-1")
    with pytest.raises(ValueError):
        log.record_acked("a-1-1")  # one copy, one ack at most
    assert log.acked == 1


def test_two_devices_sending_the_same_message_id_are_kept_apart() -> None:
    """Ids carry only the first 8 characters of the device id, so two devices can clash."""
    log = SentLog()
    log.record_sent("abcdefgh-1", "abcdefgh-1-1", duplicate=False)
    log.record_sent("abcdefgh-2", "abcdefgh-1-1", duplicate=False)
    log.record_acked("abcdefgh-1-1", "abcdefgh-2")

    assert (log.unique, log.clashes, log.sent, log.acked) == (2, 1, 2, 1)
    by_device = {r.device_id: (r.message_id, r.acked_copies) for r in log.records()}
    assert by_device == {"abcdefgh-1": ("abcdefgh-1-1", 0), "abcdefgh-2": ("abcdefgh-1-1", 1)}


def test_the_log_stays_small() -> None:
    """1,000 devices x minutes of telemetry: a few hundred thousand ids in tens of MB."""
    device_ids = [f"{n:08x}".ljust(32, "0") for n in range(100)]
    count = 50_000
    tracemalloc.start()
    try:
        log = SentLog()
        for n in range(count):
            device_id = device_ids[n % 100]
            message_id = f"{device_id[:8]}-1-{n // 100 + 1}"  # as the fleet makes them
            log.record_sent(device_id, message_id, duplicate=False)
            log.record_acked(message_id)
        used, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert log.unique == count
    assert used / count < 200  # bytes per id, its key string included (~165 measured)


class _Client:
    """Stands in for aiomqtt.Client: publish succeeds, or fails like a lost link."""

    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.published: list[tuple[str, int]] = []

    async def publish(self, topic: str, payload: bytes, qos: int = 0) -> None:
        if self.fail:
            raise aiomqtt.MqttError("link lost before PUBACK")
        self.published.append((topic, qos))


def test_a_publish_that_raised_is_sent_but_never_acked(
    offline_device: Callable[..., SimDevice],
) -> None:
    device = offline_device()
    out = fleet_messages.health(
        device.device_id, "id-1", 0, uptime_s=1, free_heap=1, rssi=-50, radar_ok=True
    )
    with pytest.raises(aiomqtt.MqttError):
        asyncio.run(device.send(_Client(fail=True), out))  # type: ignore[arg-type]
    log = device.ctx.stats.sent_log
    assert (log.sent, log.acked, log.unacked) == (1, 0, 1)
    assert log.ids()["id-1"].device_id == device.device_id


def test_only_telemetry_is_logged_and_its_qos_is_configurable(
    offline_device: Callable[..., SimDevice],
) -> None:
    device = offline_device(telemetry_qos=0)
    client = _Client()
    ids = fleet_messages.MessageIds(device.device_id, 1)
    telemetry = fleet_messages.presence(device.device_id, ids.next(), 0, [])
    state = fleet_messages.state(device.device_id, device.state())
    asyncio.run(device.send(client, telemetry))  # type: ignore[arg-type]
    asyncio.run(device.send(client, state, duplicates=False))  # type: ignore[arg-type]

    assert client.published == [(telemetry.topic, 0), (state.topic, 1)]
    log = device.ctx.stats.sent_log
    assert (log.sent, log.unique, log.acked) == (1, 1, 0)  # no PUBACK at QoS 0
    assert device.ctx.stats.messages_sent == 2


def test_the_cli_sets_telemetry_qos_and_the_state_interval() -> None:
    config = config_for(["--telemetry-qos", "0", "--state-interval", "0"])
    assert (config.telemetry_qos, config.state_interval_s) == (0, None)
    default = config_for([])
    assert (default.telemetry_qos, default.state_interval_s) == (1, 90.0)
    with pytest.raises(typer.BadParameter):
        config_for(["--telemetry-qos", "2"])


# --- against a broker --------------------------------------------------------------------

Received = dict[str, list[tuple[str, int]]]  # device id -> [(message_id, delivered qos)]


async def _collect_telemetry(client: aiomqtt.Client, inbox: Received, states: dict) -> None:
    loop = asyncio.get_running_loop()
    async for message in client.messages:
        parts = message.topic.value.split("/")
        device_id = parts[1]
        raw = bytes(message.payload)  # type: ignore[arg-type]
        if parts[2] == "telemetry":
            inbox[device_id].append((json.loads(raw)["message_id"], message.qos))
        elif parts[2] == "state":
            states[device_id].append((loop.time(), StatePayload.model_validate_json(raw)))


def _ledger(fleet: Fleet, inbox: Received, qos: int) -> None:
    """What the broker delivered balances against the fleet's sent-log."""
    records = {(r.device_id, r.message_id): r for r in fleet.sent_log.records()}
    delivered = Counter((d, mid) for d, got in inbox.items() for mid, _ in got)
    assert set(delivered) <= set(records)  # nothing arrived that was not logged
    for key, record in records.items():
        assert delivered[key] <= record.copies  # never more copies than were published
        if record.acked_copies:
            assert delivered[key] >= record.acked_copies, key  # an acked copy arrived
    # (amqtt delivers at the subscription's QoS, not min(publish, subscription), so the
    # publish QoS itself is checked without a broker, in the test above)
    summary = fleet.summary().telemetry
    assert summary["qos"] == qos
    assert summary["sent"] == summary["unique"] + summary["duplicates"]
    assert summary["sent"] == sum(r.copies for r in records.values())
    assert summary["acked"] + summary["unacked"] == summary["sent"]


@pytest.mark.parametrize("qos", [1, 0])
def test_the_sent_log_balances_against_what_the_broker_delivered(
    identities: Callable, qos: int
) -> None:
    made = identities(3)
    port = free_port()
    config = fast(port, devices=3, identities=tuple(made), duplicate_rate=0.5, telemetry_qos=qos)
    inbox: Received = defaultdict(list)
    states: dict[str, list[Any]] = defaultdict(list)

    async def scenario() -> None:
        async with running_broker(port=port), aiomqtt.Client("127.0.0.1", port) as cloud:
            await cloud.subscribe("opticworks/#", qos=1)
            listener = asyncio.create_task(_collect_telemetry(cloud, inbox, states))
            async with Fleet(config) as fleet:
                assert await fleet.wait_until(lambda f: f.sent_log.duplicates >= 3, 15)
                assert await fleet.wait_until(lambda f: f.sent_log.unique >= 30, 15)
            # every device stopped: nothing is in flight any more; let the broker deliver
            await until(lambda: sum(map(len, inbox.values())) >= fleet.sent_log.acked, 5)
            if qos == 0:
                await asyncio.sleep(0.3)
            await stop(listener)
        _ledger(fleet, inbox, qos)
        summary = fleet.summary().telemetry
        if qos == 1:  # all acked but, per device, at most the copy in flight at the stop
            assert summary["unacked"] <= 3 and summary["acked"] >= summary["sent"] - 3
            delivered = sum(map(len, inbox.values()))
            assert delivered >= summary["acked"]
        else:  # nothing is acknowledged at QoS 0: every copy's delivery is unknown
            assert summary["acked"] == 0 and summary["unacked"] == summary["sent"]
        assert summary["duplicates"] >= 3
        # state stays QoS 1 whatever the telemetry QoS
        assert fleet.summary().messages_acked >= 3

    run(scenario())
    assert {d.device_id for d in made} == set(states) == set(inbox)


def test_state_is_re_announced_at_the_interval_with_jitter(identities: Callable) -> None:
    made = identities(3)
    port = free_port()
    interval = 0.4
    config = fast(port, devices=3, identities=tuple(made), state_interval_s=interval)
    states: dict[str, list[Any]] = defaultdict(list)

    async def scenario() -> None:
        async with running_broker(port=port), aiomqtt.Client("127.0.0.1", port) as cloud:
            await cloud.subscribe("opticworks/+/state", qos=1)
            listener = asyncio.create_task(_collect_telemetry(cloud, defaultdict(list), states))
            async with Fleet(config) as fleet:
                await until(lambda: all(len(states[d.device_id]) >= 5 for d in made), 10)
                assert all(d.connects == 1 for d in fleet.devices)  # no reconnect did it
            await stop(listener)

    run(scenario())
    gaps = []
    for d in made:
        seen = [s for s in states[d.device_id] if s[1].online]
        assert all(s.firmware_version == "1.0.0" for _, s in seen)
        gaps += [b[0] - a[0] for a, b in itertools.pairwise(seen)]
    assert all(interval * 0.9 - 0.02 <= g <= interval * 1.1 + 0.15 for g in gaps), gaps
    assert max(gaps) - min(gaps) > 0.01  # jittered: the fleet does not announce in lockstep


def test_without_an_interval_state_is_announced_on_connect_only(identities: Callable) -> None:
    made = identities(2)
    port = free_port()
    config = fast(port, devices=2, identities=tuple(made), state_interval_s=None)
    states: dict[str, list[Any]] = defaultdict(list)

    async def scenario() -> None:
        async with running_broker(port=port), aiomqtt.Client("127.0.0.1", port) as cloud:
            await cloud.subscribe("opticworks/+/state", qos=1)
            listener = asyncio.create_task(_collect_telemetry(cloud, defaultdict(list), states))
            async with Fleet(config) as fleet:
                assert await fleet.wait_until(lambda f: len(f.connected_ids()) == 2, 10)
                await asyncio.sleep(1.0)
            await stop(listener)

    run(scenario())
    for d in made:
        assert [s.online for _, s in states[d.device_id]].count(True) == 1
