"""Test side of the OTA client: a recording device, a signed release, fast timings."""

import asyncio
import random
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx
from firmware.ota_standin import OtaWorkerStandIn, Release
from rs1fw.images import build_image
from rs1fw.ota_client import OtaClient
from rs1fw.ota_settings import OtaFaults, OtaSettings
from rs1fw.signing import sign_image

DEVICE_ID = "rs1-0001"
PASSWORD = "hourly-password"
IMAGE_SIZE = 64 * 1024

FAST = OtaSettings(
    chunk_size=4096,
    request_timeout_s=5.0,
    download_attempts=4,
    offer_refreshes=2,
    backoff_initial_s=0.01,
    backoff_max_s=0.05,
    publish_attempts=4,
    outage_budget_s=3.0,
    outage_backoff_max_s=0.02,
    keepalive_s=5.0,  # above every FAST wait: no keep-alive unless a test asks for one
    power_loss_dark_s=0.05,
    install_s=0.01,
    self_test_s=0.01,
)


def make_release(
    private_pem: bytes,
    version: str = "1.2.0",
    *,
    rollout_id: str = "ro-1",
    image: bytes | None = None,
    served: bytes | None = None,
) -> Release:
    """A signed release; `served` replaces the bytes the server sends (tampering)."""
    image = image if image is not None else build_image("RS-1", version, IMAGE_SIZE)
    manifest = sign_image(image, private_pem, "RS-1", version)
    return Release(
        image=served if served is not None else image,
        rollout_id=rollout_id,
        model="RS-1",
        version=version,
        sha256=manifest.sha256,
        signature=manifest.signature,
        size=manifest.size,
    )


@dataclass
class FakeDevice:
    """Records what the client does to the device. reboot() is sync, like the fleet's."""

    firmware_version: str = "1.0.0"
    statuses: list[dict[str, object]] = field(default_factory=list)
    published_at: list[float] = field(default_factory=list)  # time.monotonic() per status
    reboots: list[str] = field(default_factory=list)
    power_losses: int = 0
    bricked: int = 0
    offline_publishes: int = 0  # the next N publishes fail as if offline
    _watches: list[tuple[Callable[[dict[str, object]], bool], asyncio.Event]] = field(
        default_factory=list
    )

    def when(self, predicate: Callable[[dict[str, object]], bool]) -> asyncio.Event:
        """An event set once a published status matches predicate."""
        event = asyncio.Event()
        self._watches.append((predicate, event))
        return event

    async def publish(self, payload: dict[str, object]) -> bool:
        if self.offline_publishes > 0:
            self.offline_publishes -= 1
            return False
        self.statuses.append(payload)
        self.published_at.append(time.monotonic())
        for predicate, event in self._watches:
            if predicate(payload):
                event.set()
        return True

    def reboot(self, version: str) -> None:
        self.reboots.append(version)
        self.firmware_version = version

    def power_loss(self) -> None:
        self.power_losses += 1

    async def brick(self) -> None:
        self.bricked += 1

    def trail(self) -> list[str]:
        """Statuses in order, downloading ones with their progress: "downloading:25"."""
        return [
            f"{s['status']}:{s['progress']}" if s["status"] == "downloading" else str(s["status"])
            for s in self.statuses
        ]


def make_client(
    device: FakeDevice,
    worker: OtaWorkerStandIn,
    http: httpx.AsyncClient,
    public_pem: bytes,
    faults: OtaFaults | None = None,
    seed: int = 1,
    settings: OtaSettings = FAST,
    **extra: Any,
) -> OtaClient:
    return OtaClient(
        device_id=DEVICE_ID,
        installed_version=device.firmware_version,
        public_key_pem=public_pem,
        ota_base=worker.base,
        http=http,
        publish_status=device.publish,
        reboot=device.reboot,
        password=lambda: PASSWORD,
        faults=faults,
        rng=random.Random(seed),
        settings=settings,
        model="RS-1",
        on_power_loss=device.power_loss,
        on_bricked=device.brick,
        **extra,
    )


T = TypeVar("T")


def run(coro: Coroutine[object, object, T]) -> T:
    """Run a scenario with a hard bound, so a hang fails fast instead of stalling the suite."""
    return asyncio.run(asyncio.wait_for(coro, timeout=10))
