"""The simulated fleet's OTA behaviour: rs1fw's device-side OtaClient behind the fleet's
OtaHandler hook, one client per device, with per-device faults chosen by seed.

    FirmwareOta(public_key, ota_base, install_failure=0.1, bricked=0.05, power_loss=0.1)

Post-install faults (a firmware that installs fine and then misbehaves; only after installing
one of `faulty_versions`, or any version when None): `reboot_loop` devices restart
REBOOT_LOOP_COUNT times, REBOOT_LOOP_EVERY_S apart; `radar_silent` ones report radar faults
and no targets; `telemetry_silent` ones send no telemetry. `events` records each device's
reports (device clock, status, version) for tests.
"""

import asyncio
import random
from collections import Counter, defaultdict
from dataclasses import dataclass, field

import httpx
from rs1fw.ota_client import OtaClient
from rs1fw.ota_messages import StatusReport
from rs1fw.ota_settings import OtaFaults, OtaSettings

from rs1tools.fleet.ota import DeviceHandle

DARK_FOREVER_S = 10.0**9
REBOOT_LOOP_COUNT = 4
REBOOT_LOOP_EVERY_S = 8.0
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
    seed: int = 1
    settings: OtaSettings = field(default_factory=OtaSettings)
    clients: dict[str, OtaClient] = field(default_factory=dict)
    outcomes: Counter[str] = field(default_factory=Counter)
    http: httpx.AsyncClient | None = None
    events: dict[str, list[tuple[float, str, str]]] = field(
        default_factory=lambda: defaultdict(list)
    )

    def _faults(self, device_id: str) -> OtaFaults:
        # Deterministic per device and seed: a re-run picks the same unlucky devices.
        draw = random.Random(f"{self.seed}:{device_id}").random()  # noqa: S311 — a simulation
        if draw < self.bricked:
            return OtaFaults(bricked=True)
        if draw < self.bricked + self.install_failure:
            return OtaFaults(install_failure_probability=1.0)
        if draw < self.bricked + self.install_failure + self.power_loss:
            return OtaFaults(power_loss_mid_download=True)
        return OtaFaults()

    def post_install_fault(self, device_id: str) -> str | None:
        """Which post-install fault this device's new firmware shows (seeded), if any."""
        draw = random.Random(f"{self.seed}:{device_id}:post").random()  # noqa: S311
        for name in POST_INSTALL:
            share = getattr(self, name)
            if draw < share:
                return name
            draw -= share
        return None

    async def _installed(self, device: DeviceHandle, version: str) -> None:
        if self.faulty_versions is not None and version not in self.faulty_versions:
            return
        fault = self.post_install_fault(device.device_id)
        if fault == "radar_silent":
            device.radar_silent = True
        elif fault == "telemetry_silent":
            device.telemetry_silent = True
        elif fault == "reboot_loop":
            device.spawn(self._reboot_loop(device))

    async def _reboot_loop(self, device: DeviceHandle) -> None:
        for _ in range(REBOOT_LOOP_COUNT):
            await asyncio.sleep(REBOOT_LOOP_EVERY_S)
            device.reboot(None)

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

        client = OtaClient(
            device_id=device.device_id,
            installed_version=device.firmware_version,
            public_key_pem=self.public_key,
            ota_base=self.ota_base,
            http=self.http,
            publish_status=publish_status,
            reboot=device.reboot,
            password=lambda: device.identity.password(device.now()),
            faults=self._faults(device.device_id),
            rng=random.Random(f"{self.seed}:{device.device_id}:ota"),  # noqa: S311
            settings=self.settings,
            on_power_loss=lambda: device.reboot(None),
            on_bricked=on_bricked,
            security_version=self.security_version,
            local_minute=device.local_minute,
            on_installed=lambda version: self._installed(device, version),
        )
        self.clients[device.device_id] = client
        return client

    async def on_trigger(self, device: DeviceHandle, trigger: dict[str, object]) -> None:
        device.ota_triggers.append(trigger)
        await self._client(device).handle(trigger)

    async def close(self) -> None:
        if self.http is not None:
            await self.http.aclose()
