"""How many devices one process sustains: the fleet against a plain amqtt broker.

    python -m rs1tools.fleet.scale --devices 1000 --duration 20 --telemetry-interval 5

The broker runs in its own process (so the two share the machine's cores the way a fleet and
a broker would); the fleet runs here. Prints one JSON object: the fleet summary plus the
expected message rate and CPU/memory of both processes.
"""

import asyncio
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Annotated

import typer

from rs1.identity.device_id import device_id_from_mac
from rs1tools.cli import run
from rs1tools.fleet.config import FleetConfig
from rs1tools.fleet.identity import DeviceIdentity, fleet_macs
from rs1tools.fleet.runner import probe_broker, run_fleet
from rs1tools.localstack import free_port

TICKS_PER_S = os.sysconf("SC_CLK_TCK")
TELEMETRY_KINDS_PER_TICK = 3


def synthetic_identities(count: int, seed: int) -> tuple[DeviceIdentity, ...]:
    """Made-up secrets: the plain broker does not check passwords."""
    macs = fleet_macs(count, seed)
    return tuple(DeviceIdentity(m, device_id_from_mac(m), f"scale-{m}") for m in macs)


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS_PER_S  # utime + stime


def own_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def wait_for_broker(port: int, within_s: float = 15.0) -> None:
    deadline = time.monotonic() + within_s
    while True:
        try:
            await probe_broker("127.0.0.1", port)
            return
        except RuntimeError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.2)


async def measure(config: FleetConfig, broker_pid: int) -> dict[str, object]:
    await wait_for_broker(config.mqtt_port)
    fleet_cpu, broker_cpu, started = own_cpu_seconds(), cpu_seconds(broker_pid), time.monotonic()
    summary = await run_fleet(config)
    wall = time.monotonic() - started
    steady = config.devices * TELEMETRY_KINDS_PER_TICK / config.telemetry_interval_s
    return {
        "summary": summary.to_dict(),
        "steady_state_msgs_per_s": round(steady, 1),
        "fleet_cpu_pct": round(100 * (own_cpu_seconds() - fleet_cpu) / wall, 1),
        "broker_cpu_pct": round(100 * (cpu_seconds(broker_pid) - broker_cpu) / wall, 1),
        "fleet_max_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "cores": os.cpu_count(),
    }


def run_scale(
    devices: int, duration_s: float, interval_s: float = 5.0, ramp_s: float = 5.0
) -> dict[str, object]:
    """Start a broker process, run the fleet against it here, return the measurements."""
    port = free_port()
    config = FleetConfig(
        devices=devices,
        duration_s=duration_s,
        mqtt_port=port,
        identities=synthetic_identities(devices, seed=42),
        telemetry_interval_s=interval_s,
        ramp_s=ramp_s,
    )
    command = [sys.executable, "-m", "rs1tools.fleet.broker", "--port", str(port)]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    with tempfile.TemporaryFile() as log, subprocess.Popen(command, stderr=log, env=env) as broker:
        try:
            return asyncio.run(measure(config, broker.pid))
        finally:
            broker.terminate()


app = typer.Typer(add_completion=False)


@app.command()
def scale(
    devices: Annotated[int, typer.Option()] = 1000,
    duration: Annotated[float, typer.Option()] = 20.0,
    telemetry_interval: Annotated[float, typer.Option()] = 5.0,
    ramp: Annotated[float, typer.Option()] = 5.0,
) -> None:
    """The fleet's own capacity against a plain broker (JSON figures)."""
    print(json.dumps(run_scale(devices, duration, telemetry_interval, ramp), indent=2))


def main(argv: list[str] | None = None) -> int:
    return run(app, argv, "rs1tools.fleet.scale")


if __name__ == "__main__":
    sys.exit(main())
