"""python -m rs1tools.fleet — a simulated RS-1 fleet of real MQTT clients.

    python -m rs1tools.fleet --devices 1000 --duration 60 \\
        --faults flaky:0.1,wrong-password:0.02,clock-skew:0.05,foreign-topic:0.02,power-loss:0.05

Without --secrets the fleet enrols its MACs through the admin API (rotate=true, so a re-run
with the same --seed re-keys the same devices). Exit code 0 unless the fleet cannot start.
"""

import argparse
import asyncio
import contextlib
import dataclasses
import json
import logging
import os
import signal
import sys
from pathlib import Path

from rs1tools.fleet.config import FleetConfig
from rs1tools.fleet.faults import FaultSpec, parse_faults
from rs1tools.fleet.identity import FleetStartError, write_secrets
from rs1tools.fleet.progress import describe, show_progress
from rs1tools.fleet.runner import Fleet, resolve_identities

EXIT_CANNOT_START = 2


def _faults(text: str) -> tuple[FaultSpec, ...]:
    try:
        return parse_faults(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m rs1tools.fleet", description=(__doc__ or "").split("\n")[0]
    )
    p.add_argument("--devices", type=int, default=10)
    p.add_argument("--duration", type=float, default=60.0, help="seconds to run")
    p.add_argument("--faults", type=_faults, default=(), help="e.g. flaky:0.1,power-loss")
    p.add_argument("--seed", type=int, default=1, help="MACs and fault assignment follow it")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.add_argument("--mqtt-host", default="127.0.0.1")
    p.add_argument("--mqtt-port", type=int, default=1883)
    p.add_argument("--api", default=os.environ.get("RS1_DEVICE_API_URL", "http://127.0.0.1:8787"))
    p.add_argument("--secrets", type=Path, help="secrets CSV (rs1ctl enroll-batch output)")
    p.add_argument("--write-secrets", type=Path, help="save the enrolled secrets here")
    p.add_argument("--telemetry-interval", type=float, default=5.0, help="seconds")
    p.add_argument("--clock-speed", type=float, default=1.0, help="device time / real time")
    p.add_argument("--duplicates", type=float, default=0.02, help="QoS 1 resend probability")
    p.add_argument("--keepalive", type=int, default=30)
    p.add_argument("--ramp", type=float, default=5.0, help="spread boots over N seconds")
    p.add_argument("--firmware", default="1.0.0")
    return p


def config_from(args: argparse.Namespace) -> FleetConfig:
    return FleetConfig(
        devices=args.devices,
        duration_s=args.duration,
        mqtt_host=args.mqtt_host,
        mqtt_port=args.mqtt_port,
        api=args.api,
        secrets=args.secrets,
        telemetry_interval_s=args.telemetry_interval,
        clock_speed=args.clock_speed,
        faults=args.faults,
        seed=args.seed,
        duplicate_rate=args.duplicates,
        keepalive_s=args.keepalive,
        ramp_s=args.ramp,
        firmware_version=args.firmware,
    )


async def run(config: FleetConfig, write_to: Path | None, as_json: bool) -> int:
    if write_to is not None:  # enrol once, save, then run from the saved identities
        identities = tuple(await resolve_identities(config))
        write_secrets(write_to, list(identities))
        config = dataclasses.replace(config, identities=identities)
    fleet = Fleet(config)
    await fleet.start()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, fleet.request_stop)
    progress = None
    if not as_json and sys.stderr.isatty():
        progress = asyncio.create_task(show_progress(fleet, sys.stderr))
    summary = await fleet.wait()
    if progress is not None:
        progress.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await progress
    print(json.dumps(summary.to_dict(), indent=2) if as_json else describe(summary))
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        config = config_from(args)
    except ValueError as exc:
        print(f"fleet: {exc}", file=sys.stderr)
        return EXIT_CANNOT_START
    try:
        return asyncio.run(run(config, args.write_secrets, args.json))
    except FleetStartError as exc:
        print(f"fleet: cannot start: {exc}", file=sys.stderr)
        return EXIT_CANNOT_START
