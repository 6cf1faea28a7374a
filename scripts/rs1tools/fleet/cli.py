"""python -m rs1tools.fleet — a simulated RS-1 fleet of real MQTT clients.

    python -m rs1tools.fleet --devices 1000 --duration 60 \\
        --faults flaky:0.1,wrong-password:0.02,clock-skew:0.05,foreign-topic:0.02,power-loss:0.05

Without --secrets the fleet enrols its MACs through the admin API (rotate=true, so a re-run
with the same --seed re-keys the same devices). With --ledger-state (a local system) the
summary ends with the message ledger. Exit code 0 unless the fleet cannot start (2) or the
ledger has unexplained messages (1).
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

from rs1tools import ledger_sources
from rs1tools.devvars import secret
from rs1tools.fleet.config import FleetConfig
from rs1tools.fleet.faults import FaultSpec, parse_faults
from rs1tools.fleet.identity import FleetStartError, write_secrets
from rs1tools.fleet.progress import describe, show_progress
from rs1tools.fleet.runner import Fleet, resolve_identities
from rs1tools.ledger import Ledger
from rs1tools.localstack import local_d1_query

EXIT_CANNOT_START = 2


def _faults(text: str) -> tuple[FaultSpec, ...]:
    try:
        return parse_faults(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _state_interval(text: str) -> float | None:
    seconds = float(text)
    return None if seconds == 0 else seconds


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
    p.add_argument(
        "--telemetry-qos", type=int, choices=(0, 1), default=1, help="state/OTA stay QoS 1"
    )
    p.add_argument(
        "--state-interval",
        type=_state_interval,
        default=90.0,
        help="re-announce state every N s (± 10%%); 0: only on connect",
    )
    p.add_argument("--clock-speed", type=float, default=1.0, help="device time / real time")
    p.add_argument("--duplicates", type=float, default=0.02, help="telemetry resend probability")
    p.add_argument("--keepalive", type=int, default=30)
    p.add_argument("--ramp", type=float, default=5.0, help="spread boots over N seconds")
    p.add_argument("--firmware", default="1.0.0")
    p.add_argument(
        "--ledger-state",
        type=Path,
        help="a local system's state directory (make dev: .state): balance the message ledger"
        " against its broker (--broker-api) and D1 at the end",
    )
    p.add_argument("--broker-api", default="http://127.0.0.1:18083", help="with --ledger-state")
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
        telemetry_qos=args.telemetry_qos,
        state_interval_s=args.state_interval,
        clock_speed=args.clock_speed,
        faults=args.faults,
        seed=args.seed,
        duplicate_rate=args.duplicates,
        keepalive_s=args.keepalive,
        ramp_s=args.ramp,
        firmware_version=args.firmware,
    )


def mark(state: Path, broker_api: str) -> ledger_sources.Mark:
    """The broker's figures before this run: earlier runs on the same system are not ours."""
    metrics = ledger_sources.BrokerMetrics(broker_api, secret("EMQX_API_KEY"))
    try:
        route = ledger_sources.TelemetryRoute.from_settings()
        return ledger_sources.mark(metrics, state / "broker-ledger.jsonl", route)
    finally:
        metrics.close()


async def balance(fleet: Fleet, state: Path, broker_api: str, since: ledger_sources.Mark) -> Ledger:
    """The message ledger of this run (rs1tools.ledger): the broker's metrics API and ledger
    tap, and the local D1 in `state`."""
    metrics = ledger_sources.BrokerMetrics(broker_api, secret("EMQX_API_KEY"))
    tap = state / "broker-ledger.jsonl"

    def rows() -> int:
        return int(local_d1_query(state, "SELECT COUNT(*) AS n FROM telemetry_raw")[0]["n"])

    try:
        return await ledger_sources.take(fleet, metrics, tap, [state], rows, since)
    finally:
        metrics.close()


async def run(
    config: FleetConfig, write_to: Path | None, as_json: bool, ledger_at: tuple[Path, str] | None
) -> int:
    if write_to is not None:  # enrol once, save, then run from the saved identities
        identities = tuple(await resolve_identities(config))
        write_secrets(write_to, list(identities))
        config = dataclasses.replace(config, identities=identities)
    before = None if ledger_at is None else mark(*ledger_at)
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
    led = None
    if ledger_at is not None and before is not None:
        led = await balance(fleet, *ledger_at, before)
    if as_json:
        print(json.dumps({**summary.to_dict(), "ledger": led and led.to_dict()}, indent=2))
    else:
        print(describe(summary) + ("" if led is None else "\n" + "\n".join(led.lines())))
    return 0 if led is None or not led.unexplained else 1


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        config = config_from(args)
    except ValueError as exc:
        print(f"fleet: {exc}", file=sys.stderr)
        return EXIT_CANNOT_START
    try:
        ledger_at = None if args.ledger_state is None else (args.ledger_state, args.broker_api)
        return asyncio.run(run(config, args.write_secrets, args.json, ledger_at))
    except FleetStartError as exc:
        print(f"fleet: cannot start: {exc}", file=sys.stderr)
        return EXIT_CANNOT_START
