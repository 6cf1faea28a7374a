"""One simulated RS-1: boot, connect with an hourly password, stay online, misbehave.

The lifecycle mirrors the firmware: boot → connect (backoff on failure) → subscribe →
announce state → telemetry + command handling until the link dies → reconnect. A power
loss or restart takes the device dark for a while and resets its uptime.
"""

import asyncio
import logging
import time
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any

import aiomqtt
from aiomqtt.exceptions import MqttConnectError
from pydantic import BaseModel
from rs1contract.payloads import StatePayload
from rs1contract.topics import device_topic

from rs1tools.fleet import commands, disruptions, messages
from rs1tools.fleet.backoff import Backoff
from rs1tools.fleet.clock import SimClock
from rs1tools.fleet.codes import error_reason, is_failure, refusal_reason
from rs1tools.fleet.config import FleetConfig
from rs1tools.fleet.faults import Fault
from rs1tools.fleet.identity import DeviceIdentity
from rs1tools.fleet.messages import MessageIds, Outbound
from rs1tools.fleet.ota import OtaHandler
from rs1tools.fleet.radar import Radar
from rs1tools.fleet.rng import seeded
from rs1tools.fleet.stats import FleetStats
from rs1tools.fleet.tasks import first_completed, pause

log = logging.getLogger(__name__)
MQTT_LOG = logging.getLogger("rs1tools.fleet.mqtt")  # paho's chatter, kept apart
QOS = 1  # state, ota/status, config/status; telemetry uses config.telemetry_qos
STATE_JITTER = 0.1  # state heartbeat: interval × uniform(0.9, 1.1)
SUBSCRIPTIONS = (("ota", "trigger"), ("config", "update"), ("diag", "request"))


@dataclass
class DeviceContext:
    """What all devices of one fleet share."""

    config: FleetConfig
    stats: FleetStats
    clock: SimClock
    stop: asyncio.Event
    ota: OtaHandler
    peers: list[str]  # every device id in the fleet: foreign-topic victims


def _seen(future: asyncio.Future[None]) -> None:
    if not future.cancelled():
        future.exception()


def settle_disconnects(client: aiomqtt.Client) -> None:
    """Mark aiomqtt's disconnect error as seen whenever it comes. Only a pending message
    iterator awaits that future; a link that dies at any other moment (mid-SUBACK, during
    a graceful exit) would be logged by asyncio as "exception never retrieved"."""
    client._disconnected.add_done_callback(_seen)  # aiomqtt keeps the future private


class SimDevice:
    def __init__(
        self, index: int, identity: DeviceIdentity, fault: Fault | None, ctx: DeviceContext
    ) -> None:
        self.index = index
        self.identity = identity
        self.device_id = identity.device_id
        self.fault = fault
        self.ctx = ctx
        self.rng = seeded("rs1-fleet-device", ctx.config.seed, index)
        self.skew_s = self._pick_skew()
        self.firmware_version = ctx.config.firmware_version
        self.applied_version = 0
        self.applied_config: dict[str, Any] | None = None
        self.ota_triggers: list[dict[str, object]] = []
        self.connected = False
        self.connects = 0
        self.reconnects = 0
        self.boots = 0
        self.last_refusal: str | None = None
        self.announcements = 0  # `state` publishes acked (on connect and heartbeats)
        self.radar = Radar(self.rng)
        self.rssi_base = self.rng.randint(-85, -45)
        self.ip = f"10.{(index >> 16) & 0xFF}.{(index >> 8) & 0xFF}.{(index & 0xFF) or 1}"
        self.ids = MessageIds(self.device_id, 0)
        # Its own stream: the profile never shifts the seeded faults and timings above.
        profile = seeded("rs1-fleet-profile", ctx.config.seed, index)
        self.utc_offset_min = profile.choice(ctx.config.utc_offsets_min)
        self.tags = {k: profile.choice(v) for k, v in sorted(ctx.config.device_tags.items())}
        self.radar_silent = False  # a bad update: the radar reports faults, no targets
        self.telemetry_silent = False  # a bad update: no telemetry at all
        self.boot_at = 0.0
        self._client: aiomqtt.Client | None = None
        self.dark_for: float | None = None  # set by a power loss or reboot
        self.cut_reason: str | None = None  # set when a fault cut the link on purpose
        self._next_firmware: str | None = None
        self._background: set[asyncio.Task[None]] = set()

    # -- the device's view of the world -------------------------------------------------

    def now(self) -> float:
        """Unix seconds on this device's (possibly skewed) clock."""
        return self.ctx.clock.now(self.skew_s)

    def ts_ms(self) -> int:
        return int(self.now() * 1000)

    def uptime_s(self) -> int:
        return max(0, int(self.now() - self.boot_at))

    def free_heap(self) -> int:
        return self.rng.randint(150_000, 210_000)

    def rssi(self) -> int:
        return max(-127, min(0, self.rssi_base + self.rng.randint(-3, 3)))

    def _pick_skew(self) -> float:
        if self.fault is not Fault.CLOCK_SKEW:
            return 0.0
        hours = self.rng.uniform(*self.ctx.config.timing.skew_hours)
        return self.rng.choice((-1, 1)) * hours * 3600

    def _password(self) -> str:
        if self.fault is Fault.WRONG_PASSWORD:
            return "0" * 64  # well-formed, never right
        return self.identity.password(self.now())

    # -- lifecycle --------------------------------------------------------------------

    async def run(self) -> None:
        stop, cfg = self.ctx.stop, self.ctx.config
        if not await pause(stop, self.rng.uniform(0, cfg.ramp_s)):
            return
        self._boot()
        backoff = Backoff(cfg.backoff, self.rng)
        try:
            while not stop.is_set():
                online_s = await self._guarded_session()
                if self.dark_for is not None:
                    dark, self.dark_for = self.dark_for, None
                    if not await pause(stop, dark):
                        break
                    self._boot()
                    backoff.reset()
                    continue
                if online_s >= cfg.backoff.stable_s:  # a flapping link keeps backing off
                    backoff.reset()
                if not await pause(stop, backoff.next_delay()):
                    break
        finally:
            for task in self._background:
                task.cancel()

    def _boot(self) -> None:
        self.boots += 1
        self.boot_at = self.now()
        self.ids = MessageIds(self.device_id, self.boots)
        self.radar.tracks.clear()  # zones survive: the applied config lives in flash
        if self._next_firmware:
            self.firmware_version, self._next_firmware = self._next_firmware, None

    def reboot(self, firmware_version: str | None = None) -> None:
        """esp_restart(): drop the link without DISCONNECT, come back after a short dark."""
        self._next_firmware = firmware_version
        self.go_dark(self.ctx.config.timing.reboot_off_s)
        if self._client is not None:
            self.cut_reason = "injected reboot"
            disruptions.cut(self._client)

    def go_dark(self, seconds: float) -> None:
        """After this session ends, stay off for `seconds`, then boot again."""
        self.dark_for = seconds

    async def _guarded_session(self) -> float:
        try:
            return await self._session()
        except Exception:
            self.ctx.stats.errors += 1
            log.exception("device %s: unexpected error", self.device_id)
            return 0.0

    async def _session(self) -> float:
        """One connection; returns how long it stayed online (0 when it never got there)."""
        stats = self.ctx.stats
        stats.connect_attempts += 1
        self.cut_reason = None
        online_at: float | None = None
        client = self._new_client()
        try:
            async with client:
                online_at = time.monotonic()
                await self._online(client)
        except MqttConnectError as exc:
            self.last_refusal = refusal_reason(exc)
            stats.refused[self.last_refusal] += 1
        except aiomqtt.MqttError as exc:
            if online_at is None:
                stats.connect_errors[error_reason(exc)] += 1
            else:
                stats.drops[self.cut_reason or error_reason(exc)] += 1
        finally:
            self.connected = False
            self._client = None
        return 0.0 if online_at is None else time.monotonic() - online_at

    def _new_client(self) -> aiomqtt.Client:
        cfg = self.ctx.config
        will = aiomqtt.Will(device_topic(self.device_id, "state"), messages.offline_state(), QOS)
        return aiomqtt.Client(
            cfg.mqtt_host,
            cfg.mqtt_port,
            identifier=self.device_id,
            username=self.device_id,
            password=self._password(),  # recomputed per connect: the hour may have turned
            keepalive=cfg.keepalive_s,
            will=will,
            clean_session=True,
            timeout=cfg.connect_timeout_s,
            logger=MQTT_LOG,
        )

    async def _online(self, client: aiomqtt.Client) -> None:
        """Until the link dies or the fleet stops. The inbound loop runs from the first
        moment, so a link lost while subscribing ends the session at once (no timeout)."""
        self._mark_connected(client)
        await first_completed(
            self._inbound(client),
            self._announce_and_report(client),
            self.ctx.stop.wait(),
            *disruptions.fault_loops(self, client),
        )

    async def _announce_and_report(self, client: aiomqtt.Client) -> None:
        await self._subscribe(client)
        await self._announce(client)
        if self.ctx.config.state_interval_s is None:
            await self._telemetry(client)
        else:
            await first_completed(self._telemetry(client), self._heartbeat(client))

    async def _announce(self, client: aiomqtt.Client) -> None:
        await self.send(client, messages.state(self.device_id, self.state()), duplicates=False)
        self.announcements += 1

    async def _heartbeat(self, client: aiomqtt.Client) -> None:
        """Re-announce `state` every state_interval_s ± 10%, besides on connect.

        EMQX caches an authz decision per connection for 60 s, a denial too (also one that
        a failing auth webhook caused). A post-OTA-reboot `state` that was denied would
        otherwise never confirm the new version, and its rollout row would time out as a
        false failure; an interval above the cache TTL gets each re-announcement a fresh
        check. The jitter keeps a fleet that booted together from announcing in lockstep.
        """
        interval = self.ctx.config.state_interval_s
        assert interval is not None
        while True:
            await asyncio.sleep(interval * self.rng.uniform(1 - STATE_JITTER, 1 + STATE_JITTER))
            await self._announce(client)

    def _mark_connected(self, client: aiomqtt.Client) -> None:
        settle_disconnects(client)
        self.connected = True
        self._client = client
        self.last_refusal = None
        if self.connects:
            self.reconnects += 1
            self.ctx.stats.reconnects += 1
        self.connects += 1

    async def _subscribe(self, client: aiomqtt.Client) -> None:
        topics = [(device_topic(self.device_id, *s), QOS) for s in SUBSCRIPTIONS]
        codes = await client.subscribe(topics)
        if any(is_failure(c) for c in codes):
            # Our own topics are never refused on purpose: a transient authz failure did it,
            # and EMQX caches that denial for the connection. Without ota/trigger or
            # config/update the device would be stranded, so it reconnects (after its
            # backoff) and the new connection is authorized afresh.
            log.warning("device %s: own subscriptions refused: %s", self.device_id, codes)
            self.cut_reason = "own subscription refused"
            raise aiomqtt.MqttError("own subscription refused; reconnecting")

    # -- publishing -------------------------------------------------------------------

    def state(self) -> StatePayload:
        return StatePayload(
            online=True,
            firmware_version=self.firmware_version,
            uptime_s=self.uptime_s(),
            free_heap=self.free_heap(),
            rssi=self.rssi(),
            ip=self.ip,
            utc_offset_min=self.utc_offset_min,
            tags=self.tags or None,
        )

    @property
    def clock_speed(self) -> float:
        """Device seconds per real second (the simulation clock's speed)."""
        return self.ctx.clock.speed

    def local_minute(self) -> int:
        """The minute of the device's local day (its clock plus its UTC offset)."""
        return int(self.now() // 60 + self.utc_offset_min) % 1440

    async def send(self, client: aiomqtt.Client, out: Outbound, duplicates: bool = True) -> None:
        """Publish; telemetry (QoS config.telemetry_qos) is sometimes sent twice with the
        same message_id. Every telemetry copy goes into the fleet's sent-log."""
        await self._publish(client, out)
        if duplicates and out.message_id and self.rng.random() < self.ctx.config.duplicate_rate:
            self.ctx.stats.duplicates_sent += 1
            await self._publish(client, out, duplicate=True)

    async def _publish(
        self, client: aiomqtt.Client, out: Outbound, duplicate: bool = False
    ) -> None:
        stats = self.ctx.stats
        message_id = out.message_id  # only telemetry payloads carry one
        qos = QOS if message_id is None else self.ctx.config.telemetry_qos
        stats.messages_sent += 1
        if message_id is not None:  # logged before the await: one that raises is never acked
            stats.sent_log.record_sent(self.device_id, message_id, duplicate)
        started = time.perf_counter()
        await client.publish(out.topic, out.payload, qos=qos)  # QoS 1: returns on PUBACK
        stats.messages_acked += 1  # at QoS 0: handed to the socket (the old meaning)
        if qos == 0:
            return  # no PUBACK exists: nothing acked in the sent-log, no ack latency
        stats.ack_latency_ms.add((time.perf_counter() - started) * 1000)
        if message_id is not None:
            stats.sent_log.record_acked(message_id, self.device_id)

    async def publish(self, *suffix: str, payload: BaseModel) -> bool:
        """For plug-ins (OTA): publish to one of our own topics if online."""
        client = self._client
        if client is None:
            return False
        out = Outbound(device_topic(self.device_id, *suffix), messages.encode(payload))
        try:
            await self._publish(client, out)
        except aiomqtt.MqttError:
            return False
        return True

    async def _telemetry(self, client: aiomqtt.Client) -> None:
        interval = self.ctx.config.telemetry_interval_s
        loop = asyncio.get_running_loop()
        await asyncio.sleep(self.rng.uniform(0, interval))  # spread the fleet over the period
        last = next_at = loop.time()
        while True:
            now = loop.time()
            for out in commands.telemetry_frame(self, now - last):
                await self.send(client, out)
            last = now
            next_at = max(next_at + interval, loop.time())  # when late, skip, never burst
            await asyncio.sleep(next_at - loop.time())

    # -- commands from the cloud ------------------------------------------------------

    async def _inbound(self, client: aiomqtt.Client) -> None:
        prefix = device_topic(self.device_id, "")
        async for message in client.messages:
            topic = message.topic.value
            if not topic.startswith(prefix):
                self.ctx.stats.foreign_received += 1
                continue
            payload = message.payload
            raw = payload if isinstance(payload, bytes) else str(payload or "").encode()
            await commands.handle(self, client, topic.removeprefix(prefix), raw)

    def spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        """Background work owned by the device (an OTA download), cancelled when it stops."""
        task = asyncio.ensure_future(coroutine)
        self._background.add(task)
        task.add_done_callback(self._background_done)

    def _background_done(self, task: asyncio.Task[None]) -> None:
        self._background.discard(task)
        if not task.cancelled() and task.exception() is not None:
            self.ctx.stats.errors += 1
            log.error("device %s: background task failed: %r", self.device_id, task.exception())
