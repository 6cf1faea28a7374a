"""Telemetry at QoS 0 versus QoS 1, measured: the same fleet (same seed, flaky links) once at
each QoS, each run balanced by the message ledger.

    python -m rs1tools.chaos.qos [--devices 100] [--seconds 60]
"""

import asyncio
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from rs1tools.chaos.harness import ChaosWorld, say
from rs1tools.cli import run as run_app
from rs1tools.devvars import ROOT
from rs1tools.fleet import parse_faults


async def one(qos: int, devices: int, seconds: float, root: Path) -> dict[str, Any]:
    async with ChaosWorld(f"qos-{qos}", devices, root) as world:
        fleet = await world.start_fleet(telemetry_qos=qos, faults=parse_faults("flaky:0.2"))
        await asyncio.sleep(seconds)
        latency = fleet.stats.ack_latency_ms.describe()
        led = await world.take_ledger()
    lost = led.unique - led.stored
    return {
        "qos": qos,
        "unique": led.unique,
        "stored": led.stored,
        "lost": lost,
        "lost_pct": round(100 * lost / led.unique, 3) if led.unique else 0.0,
        "unexplained": led.unexplained,
        "fates": led.fates,
        "ack_ms": latency if qos else None,
    }


async def run(devices: int, seconds: float, root: Path) -> list[dict[str, Any]]:
    return [await one(qos, devices, seconds, root) for qos in (0, 1)]


app = typer.Typer(add_completion=False)


@app.command()
def compare(
    devices: Annotated[int, typer.Option(help="simulated devices")] = 100,
    seconds: Annotated[float, typer.Option(help="how long each QoS runs")] = 60.0,
    state: Annotated[Path, typer.Option(help="state directories")] = ROOT / ".state" / "chaos",
) -> None:
    """Telemetry at QoS 0 against QoS 1: what each loses, through a broker restart."""
    for row in asyncio.run(run(devices, seconds, state)):
        say(f"QoS {row['qos']}: {row}")


def main(argv: list[str] | None = None) -> int:
    return run_app(app, argv, "rs1tools.chaos.qos")


if __name__ == "__main__":
    sys.exit(main())
