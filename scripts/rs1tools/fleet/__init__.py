"""A simulated RS-1 fleet: real MQTT clients that behave like the firmware.

    summary = await run_fleet(FleetConfig(devices=100, duration_s=30, secrets=Path("s.csv")))

    async with Fleet(config) as fleet:  # runs in the background; stopped (and summed up) on exit
        await fleet.wait_until(lambda f: len(f.connected_ids()) == 100, within_s=30)
        fleet.device(device_id).applied_version
    fleet.summary()

Or fleet.start() ... fleet.request_stop() / await fleet.stop(). CLI: `python -m rs1tools.fleet`.
"""

from rs1tools.fleet.config import FaultTiming, FleetConfig
from rs1tools.fleet.device import SimDevice
from rs1tools.fleet.faults import Fault, FaultSpec, parse_faults
from rs1tools.fleet.identity import DeviceIdentity, FleetStartError
from rs1tools.fleet.ota import DeviceHandle, OtaHandler, RecordingOta
from rs1tools.fleet.runner import Fleet, run_fleet
from rs1tools.fleet.stats import FleetSummary

__all__ = [
    "DeviceHandle",
    "DeviceIdentity",
    "Fault",
    "FaultSpec",
    "FaultTiming",
    "Fleet",
    "FleetConfig",
    "FleetStartError",
    "FleetSummary",
    "OtaHandler",
    "RecordingOta",
    "SimDevice",
    "parse_faults",
    "run_fleet",
]
