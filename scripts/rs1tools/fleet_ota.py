"""The simulated fleet's OTA behaviour: rs1fw's device-side OtaClient behind the fleet's
OtaHandler hook, one client per device, with per-device faults chosen by seed.

    FirmwareOta(public_key, ota_base, install_failure=0.1, bricked=0.05, power_loss=0.1)

Post-install faults (a firmware that installs fine and then misbehaves; only after installing
one of `faulty_versions`, or any version when None): `reboot_loop` devices restart
`reboot_loop_count` times, `reboot_loop_every_s` after each boot; `radar_silent` ones report
radar faults and no targets; `telemetry_silent` ones send no telemetry. The faults ride on the
device's OtaFaults (rs1fw.ota_settings) and are acted out by the client's on_installed hook;
installing a version outside `faulty_versions` (the cloud's rollback) heals the device.

For tests: `events[device_id]` lists the device's reports as (device clock, status, version),
`event_times(device_id, status)` picks one status, and `jitter_waits(device_id)` gives the
delay each rollout drew before its first download request.
"""

import asyncio
import random
from collections import Counter, defaultdict
from dataclasses import dataclass, field, replace

import httpx
from rs1fw.ota_client import OtaClient
from rs1fw.ota_messages import StatusReport
from rs1fw.ota_settings import OtaFaults, OtaSettings

from rs1tools.fleet.ota import DeviceHandle

DARK_FOREVER_S = 10.0**9
REBOOT_LOOP_COUNT = 4
REBOOT_LOOP_EVERY_S = 8.0
REBOOT_POLL_S = 0.1
POST_INSTALL = ("reboot_loop", "radar_silent", "telemetry_silent")


@dataclass
class FirmwareOta:
    public_key: str
    ota_base: str
    install_failure: float = 0.0  # fraction of devices whose self-test fails
    bricked: float = 0.0  # fraction of devices that die after "installing"
    power_loss: float = 0.0  # fraction that lose power mid-download (then resume)
    reboot_loop: float = 0.0  # fractions with a post-install fault (see the module doc)
    radar_silent: float = 0.0
    telemetry_silent: float = 0.0
    faulty_versions: frozenset[str] | None = None
    security_version: int = 0  # every device's installed anti-rollback counter
    reboot_loop_every_s: float = REBOOT_LOOP_EVERY_S  # real seconds after each boot
    reboot_loop_count: int = REBOOT_LOOP_COUNT
    seed: int = 1
    settings: OtaSettings = field(default_factory=OtaSettings)
    clients: dict[str, OtaClient] = field(default_factory=dict)
    outcomes: Counter[str] = field(default_factory=Counter)
    http: httpx.AsyncClient | None = None
    events: dict[str, list[tuple[float, str, str]]] = field(
        default_factory=lambda: defaultdict(list)
    )

    def _faults(self, device_id: str) -> OtaFaults:
        # Deterministic per device and seed: a re-run picks the same unlucky devices. The
        # post-install fault has its own draw, so adding one never reshuffles the others.
        post = self.post_install_fault(device_id)
        faults = OtaFaults(
            reboot_loop=post == "reboot_loop",
            reboot_loop_every_s=self.reboot_loop_every_s,
            reboot_loop_count=self.reboot_loop_count,
            radar_silent=post == "radar_silent",
            telemetry_silent=post == "telemetry_silent",
        )
        draw = random.Random(f"{self.seed}:{device_id}").random()  # noqa: S311 — a simulation
        if draw < self.bricked:
            return replace(faults, bricked=True)
        if draw < self.bricked + self.install_failure:
            return replace(faults, install_failure_probability=1.0)
        if draw < self.bricked + self.install_failure + self.power_loss:
            return replace(faults, power_loss_mid_download=True)
        return faults

    def event_times(self, device_id: str, status: str) -> list[float]:
        """When (device clock) this device reported `status`, oldest first."""
        return [at for at, seen, _ in self.events.get(device_id, ()) if seen == status]

    def jitter_waits(self, device_id: str) -> dict[str, float]:
        """Rollout id → the jitter delay the device drew before its first request."""
        client = self.clients.get(device_id)
        return dict(client.jitter_waits) if client is not None else {}

    def post_install_fault(self, device_id: str) -> str | None:
        """Which post-install fault this device's new firmware shows (seeded), if any."""
        draw = random.Random(f"{self.seed}:{device_id}:post").random()  # noqa: S311
        for name in POST_INSTALL:
            share = getattr(self, name)
            if draw < share:
                return name
            draw -= share
        return None

    async def _installed(self, device: DeviceHandle, version: str, faults: OtaFaults) -> None:
        """The new firmware runs: act out its post-install faults, or heal the device when
        this version is not a faulty one (a rollback)."""
        faulty = self.faulty_versions is None or version in self.faulty_versions
        device.radar_silent = faulty and faults.radar_silent
        device.telemetry_silent = faulty and faults.telemetry_silent
        if faulty and faults.reboot_loop:
            device.spawn(self._reboot_loop(device, version, faults))

    async def _reboot_loop(self, device: DeviceHandle, version: str, faults: OtaFaults) -> None:
        """Restart `reboot_loop_count` times, each `reboot_loop_every_s` after the device is
        back online; stops once another version is installed."""
        for _ in range(faults.reboot_loop_count):
            await asyncio.sleep(faults.reboot_loop_every_s)
            # A reboot lands on a live device (one while dark would wait for the next link).
            while not device.connected:  # noqa: ASYNC110 — no event to await
                await asyncio.sleep(REBOOT_POLL_S)
            client = self.clients.get(device.device_id)
            if client is not None and client.installed_version != version:
                return  # rolled back or updated again: the loop is over
            device.reboot(None)
            await asyncio.sleep(REBOOT_POLL_S)  # the link drops, then the device boots again

    def _client(self, device: DeviceHandle) -> OtaClient:
        client = self.clients.get(device.device_id)
        if client is not None:
            return client
        if self.http is None:
            self.http = httpx.AsyncClient(timeout=30)

        async def publish_status(report: dict[str, object]) -> bool:
            self.outcomes[str(report.get("status"))] += 1
            entry = (device.now(), str(report.get("status")), str(report.get("version")))
            self.events[device.device_id].append(entry)
            return await device.publish(
                "ota", "status", payload=StatusReport.model_validate(report)
            )

        def on_bricked() -> None:
            device.reboot(None)
            device.go_dark(DARK_FOREVER_S)

        faults = self._faults(device.device_id)

        async def on_installed(version: str) -> None:
            await self._installed(device, version, faults)

        client = OtaClient(
            device_id=device.device_id,
            installed_version=device.firmware_version,
            public_key_pem=self.public_key,
            ota_base=self.ota_base,
            http=self.http,
            publish_status=publish_status,
            reboot=device.reboot,
            password=lambda: device.identity.password(device.now()),
            faults=faults,
            rng=random.Random(f"{self.seed}:{device.device_id}:ota"),  # noqa: S311
            settings=self.settings,
            on_power_loss=lambda: device.reboot(None),
            on_bricked=on_bricked,
            security_version=self.security_version,
            local_minute=device.local_minute,
            on_installed=on_installed,
            clock_speed=device.clock_speed,
        )
        self.clients[device.device_id] = client
        return client

    async def on_trigger(self, device: DeviceHandle, trigger: dict[str, object]) -> None:
        device.ota_triggers.append(trigger)
        await self._client(device).handle(trigger)

    async def close(self) -> None:
        if self.http is not None:
            await self.http.aclose()
