"""Injected faults while a device is online: link drops, power losses, ACL probes.

Refusal faults (wrong password, clock skew) need no loop: they shape the credentials in
device.py and the broker does the rest.
"""

import asyncio
import contextlib
import socket
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any

import aiomqtt
from rs1contract.topics import ROOT

from rs1.identity.device_id import device_id_from_mac
from rs1tools.fleet import messages
from rs1tools.fleet.codes import is_failure
from rs1tools.fleet.faults import Fault

if TYPE_CHECKING:
    from rs1tools.fleet.device import SimDevice

WILDCARD_OTA = f"{ROOT}/+/ota/trigger"  # every device's OTA channel: must be denied
STRANGER = device_id_from_mac("02:00:00:00:00:01")  # a victim when the fleet is one device
DROP_GRACE_S = 5.0  # after a cut the inbound loop notices within milliseconds; this is a net


def fault_loops(device: "SimDevice", client: aiomqtt.Client) -> list[Coroutine[Any, Any, None]]:
    """The extra loops of one session for the device's fault (none for most devices)."""
    timing = device.ctx.config.timing
    rng = device.rng
    if device.fault is Fault.FLAKY:
        return [drop_after(device, client, rng.expovariate(1 / timing.flaky_mean_s))]
    if device.fault is Fault.POWER_LOSS:
        delay = rng.expovariate(1 / timing.power_loss_mean_s)
        return [drop_after(device, client, delay, dark_s=rng.uniform(*timing.power_off_s))]
    if device.fault is Fault.FOREIGN_TOPIC:
        return [probe_foreign(device, client)]
    return []


async def drop_after(
    device: "SimDevice", client: aiomqtt.Client, delay: float, dark_s: float | None = None
) -> None:
    """Lose the link after `delay` (and, for a power loss, stay dark for `dark_s`)."""
    await asyncio.sleep(delay)
    if dark_s is not None:
        device.go_dark(dark_s)
        device.ctx.stats.power_cycles += 1
    device.cut_reason = f"injected {device.fault}"
    cut(client)
    await asyncio.sleep(DROP_GRACE_S)
    raise aiomqtt.MqttError("link cut")


def cut(client: aiomqtt.Client) -> None:
    """Kill the TCP connection under paho: no DISCONNECT, so the broker publishes the will.

    A real power loss sends nothing at all and the broker notices only at 1.5 x keepalive;
    a FIN is the closest a live process can get without dropping packets.
    """
    sock = client._client.socket()  # aiomqtt offers no abrupt close of its own
    if isinstance(sock, socket.socket):
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


def pick_victim(device: "SimDevice") -> str:
    others = [p for p in device.ctx.peers if p != device.device_id]
    return device.rng.choice(others) if others else STRANGER


async def probe_foreign(device: "SimDevice", client: aiomqtt.Client) -> None:
    """Now and then publish as another device and try to subscribe to every OTA channel.

    Under deny_action=ignore a denied publish still gets its PUBACK (MQTT 3.1.1 has no
    reason codes), so only the subscription's outcome is visible here; the cloud side
    verifies that the forged telemetry never arrived.
    """
    stats = device.ctx.stats
    interval = device.ctx.config.timing.foreign_interval_s
    while True:
        await asyncio.sleep(interval * device.rng.uniform(0.5, 1.5))
        forged = messages.targets(pick_victim(device), device.ids.next(), device.ts_ms(), [])
        stats.foreign_publish += 1
        await client.publish(forged.topic, forged.payload, qos=1)
        stats.foreign_subscribe += 1
        codes = await client.subscribe(WILDCARD_OTA, qos=1)
        if all(is_failure(c) for c in codes):
            stats.foreign_subscribe_denied += 1
        else:
            stats.foreign_subscribe_granted += 1
            await client.unsubscribe(WILDCARD_OTA)
