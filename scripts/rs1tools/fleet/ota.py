"""The OTA hook: what a device does with opticworks/{id}/ota/trigger.

For now triggers are only recorded; the OTA client (download, verify, report on ota/status,
reboot into the new version) plugs in as another OtaHandler, using the DeviceHandle the
simulated device passes it.
"""

from collections.abc import Coroutine
from typing import Any, Protocol

from pydantic import BaseModel

from rs1tools.fleet.identity import DeviceIdentity


class DeviceHandle(Protocol):
    """What a simulated device offers to an OTA client."""

    device_id: str
    identity: DeviceIdentity  # the OTA client signs its downloads with the MQTT password
    firmware_version: str
    ota_triggers: list[dict[str, object]]
    radar_silent: bool  # post-update behaviour the OTA simulation may switch on
    telemetry_silent: bool
    connected: bool  # online now (a reboot loop restarts only a live device)

    @property
    def clock_speed(self) -> float:
        """Device seconds per real second (a sped-up simulation clock)."""
        ...

    def now(self) -> float:
        """Unix seconds on this device's (possibly skewed) clock."""
        ...

    def local_minute(self) -> int:
        """The minute of the device's local day: its clock plus its UTC offset (maintenance
        windows)."""
        ...

    def spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        """Background work owned by the device, cancelled when it stops."""
        ...

    async def publish(self, *suffix: str, payload: BaseModel) -> bool:
        """Publish (QoS 1) to opticworks/{id}/{suffix}; False when offline."""
        ...

    def reboot(self, firmware_version: str | None = None) -> None:
        """Restart like esp_restart(): abrupt drop, short dark period, boot (maybe new fw)."""
        ...

    def go_dark(self, seconds: float) -> None:
        """After this session ends, stay off for `seconds`, then boot again."""
        ...


class OtaHandler(Protocol):
    async def on_trigger(self, device: DeviceHandle, trigger: dict[str, object]) -> None:
        """Runs in its own task per trigger, so a slow download never blocks the device."""
        ...


class RecordingOta:
    """The default: remember each trigger on the device (the summary counts them)."""

    async def on_trigger(self, device: DeviceHandle, trigger: dict[str, object]) -> None:
        device.ota_triggers.append(trigger)
