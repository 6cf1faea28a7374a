"""The fleet: resolve identities, start every device in one event loop, stop, summarise."""

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import Callable
from types import TracebackType
from typing import Any, Self

import aiomqtt

from rs1tools.fleet.clock import SimClock
from rs1tools.fleet.config import FleetConfig
from rs1tools.fleet.device import DeviceContext, SimDevice
from rs1tools.fleet.faults import assign_faults
from rs1tools.fleet.identity import (
    DeviceIdentity,
    FleetStartError,
    enroll,
    fleet_macs,
    read_secrets,
)
from rs1tools.fleet.ota import OtaHandler, RecordingOta
from rs1tools.fleet.sent_log import SentLog
from rs1tools.fleet.stats import FleetStats, FleetSummary, summarize
from rs1tools.fleet.tasks import cancel_all

log = logging.getLogger(__name__)
LAG_PROBE_S = 0.25
BROKER_PROBE_TIMEOUT_S = 5.0


async def resolve_identities(config: FleetConfig) -> list[DeviceIdentity]:
    if config.identities is not None:
        found = list(config.identities)
    elif config.secrets is not None:
        found = read_secrets(config.secrets)
    else:
        return await enroll(config.api, fleet_macs(config.devices, config.seed), config.admin_token)
    if not found:
        raise FleetStartError("no device identities to run")
    if len(found) < config.devices:
        log.warning(
            "only %d identities for %d devices; running %d", len(found), config.devices, len(found)
        )
    return found[: config.devices]


def quiet_orphaned_disconnects(loop: asyncio.AbstractEventLoop) -> None:
    """aiomqtt replaces its disconnect future when a link dies between CONNACK and the end
    of __aenter__, leaving the old one's error unretrieved; under broker overload asyncio
    would log each. The session already ended and was counted, so these are dropped."""
    previous = loop.get_exception_handler()

    def handler(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        orphan = "never retrieved" in context.get("message", "")
        if orphan and isinstance(context.get("exception"), aiomqtt.MqttError):
            return
        if previous is not None:
            previous(loop, context)
        else:
            loop.default_exception_handler(context)

    loop.set_exception_handler(handler)


async def probe_broker(host: str, port: int) -> None:
    """Fail fast when nothing listens: devices would only retry forever."""
    try:
        _, writer = await asyncio.wait_for(
            asyncio.open_connection(host, port), BROKER_PROBE_TIMEOUT_S
        )
    except (OSError, TimeoutError) as exc:
        raise FleetStartError(f"no MQTT broker at {host}:{port}: {exc!r}") from exc
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()


class Fleet:
    """A running fleet. Use `async with Fleet(config) as fleet:` or start()/stop()."""

    def __init__(self, config: FleetConfig, ota: OtaHandler | None = None) -> None:
        self.config = config
        self.ota = ota or RecordingOta()
        self.stats = FleetStats()
        self.devices: list[SimDevice] = []
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._started = 0.0
        self._ended: float | None = None
        self._at_end: tuple[int, int] | None = None  # (connected, connected_now) at the end

    async def start(self) -> None:
        """Resolve identities, check the broker, boot every device (boots are ramped)."""
        identities = await resolve_identities(self.config)
        await probe_broker(self.config.mqtt_host, self.config.mqtt_port)
        ctx = DeviceContext(
            config=self.config,
            stats=self.stats,
            clock=SimClock(speed=self.config.clock_speed),
            stop=self._stop,
            ota=self.ota,
            peers=[d.device_id for d in identities],
        )
        faults = assign_faults(len(identities), self.config.faults, self.config.seed)
        self.devices = [SimDevice(i, ident, faults[i], ctx) for i, ident in enumerate(identities)]
        quiet_orphaned_disconnects(asyncio.get_running_loop())
        self._started = time.monotonic()
        self._tasks = [
            asyncio.create_task(d.run(), name=f"rs1-{d.device_id[:8]}") for d in self.devices
        ]
        self._tasks.append(asyncio.create_task(self._watch_loop_lag(), name="rs1-fleet-lag"))

    def request_stop(self) -> None:
        """Ask every device to disconnect; `wait()`/`stop()` return once they have."""
        self._mark_end()

    def _mark_end(self) -> None:
        """Freeze duration and connection counts before devices start disconnecting."""
        if self._ended is None:
            self._ended = time.monotonic()
            self._at_end = self._connection_counts()
        self._stop.set()

    async def stop(self, grace_s: float | None = None) -> FleetSummary:
        self._mark_end()
        grace = grace_s if grace_s is not None else self.config.connect_timeout_s + 5
        _, pending = await asyncio.wait(self._tasks, timeout=grace) if self._tasks else ((), ())
        await cancel_all(pending)
        return self.summary()

    async def wait(self) -> FleetSummary:
        """Run until the configured duration passes (or a stop is requested), then stop."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop.wait(), self.config.duration_s)
        return await self.stop()

    async def wait_until(self, predicate: Callable[["Fleet"], bool], within_s: float) -> bool:
        """Poll a condition on the fleet (tests: "all devices connected")."""
        deadline = time.monotonic() + within_s
        while not predicate(self):
            if time.monotonic() >= deadline:
                return False
            await asyncio.sleep(0.05)
        return True

    @property
    def sent_log(self) -> SentLog:
        """Every telemetry copy the fleet published, per message id (the ledger's side)."""
        return self.stats.sent_log

    def device(self, device_id: str) -> SimDevice:
        return next(d for d in self.devices if d.device_id == device_id)

    def connected_ids(self) -> set[str]:
        return {d.device_id for d in self.devices if d.connected}

    def summary(self) -> FleetSummary:
        end = self._ended if self._ended is not None else time.monotonic()
        faults = Counter(str(d.fault) for d in self.devices if d.fault is not None)
        connected, connected_now = self._at_end or self._connection_counts()
        return summarize(
            self.stats,
            devices=len(self.devices),
            connected=connected,
            connected_now=connected_now,
            faults=dict(sorted(faults.items())),
            duration_s=end - self._started if self._started else 0.0,
            telemetry_qos=self.config.telemetry_qos,
        )

    def _connection_counts(self) -> tuple[int, int]:
        ever = sum(d.connects > 0 for d in self.devices)
        return ever, sum(d.connected for d in self.devices)

    async def _watch_loop_lag(self) -> None:
        """How late the event loop wakes up: the sign that one process is saturated."""
        loop = asyncio.get_running_loop()
        while not self._stop.is_set():
            before = loop.time()
            await asyncio.sleep(LAG_PROBE_S)
            self.stats.loop_lag_ms.add(max(0.0, loop.time() - before - LAG_PROBE_S) * 1000)

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()


async def run_fleet(config: FleetConfig, ota: OtaHandler | None = None) -> FleetSummary:
    """Start a fleet, run it for config.duration_s, stop it and return the summary."""
    fleet = Fleet(config, ota)
    await fleet.start()
    return await fleet.wait()
