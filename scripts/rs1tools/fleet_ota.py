"""The simulated fleet's OTA behaviour: rs1fw's device-side OtaClient behind the fleet's
OtaHandler hook, one client per device, with per-device faults chosen by seed.

    FirmwareOta(public_key, ota_base, install_failure=0.1, bricked=0.05, power_loss=0.1)
"""

import random
from collections import Counter
from dataclasses import dataclass, field

import httpx
from rs1fw.ota_client import OtaClient
from rs1fw.ota_messages import StatusReport
from rs1fw.ota_settings import OtaFaults, OtaSettings

from rs1tools.fleet.ota import DeviceHandle

DARK_FOREVER_S = 10.0**9


@dataclass
class FirmwareOta:
    public_key: str
    ota_base: str
    install_failure: float = 0.0  # fraction of devices whose self-test fails
    bricked: float = 0.0  # fraction of devices that die after "installing"
    power_loss: float = 0.0  # fraction that lose power mid-download (then resume)
    seed: int = 1
    settings: OtaSettings = field(default_factory=OtaSettings)
    clients: dict[str, OtaClient] = field(default_factory=dict)
    outcomes: Counter[str] = field(default_factory=Counter)
    http: httpx.AsyncClient | None = None

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

    def _client(self, device: DeviceHandle) -> OtaClient:
        client = self.clients.get(device.device_id)
        if client is not None:
            return client
        if self.http is None:
            self.http = httpx.AsyncClient(timeout=30)

        async def publish_status(report: dict[str, object]) -> bool:
            self.outcomes[str(report.get("status"))] += 1
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
        )
        self.clients[device.device_id] = client
        return client

    async def on_trigger(self, device: DeviceHandle, trigger: dict[str, object]) -> None:
        device.ota_triggers.append(trigger)
        await self._client(device).handle(trigger)

    async def close(self) -> None:
        if self.http is not None:
            await self.http.aclose()
