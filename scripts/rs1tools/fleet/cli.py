"""python -m rs1tools.fleet — a simulated RS-1 fleet of real MQTT clients.

    python -m rs1tools.fleet --devices 1000 --duration 60 \\
        --faults flaky:0.1,wrong-password:0.02,clock-skew:0.05,foreign-topic:0.02,power-loss:0.05

Without --secrets the fleet enrols its MACs through the admin API (rotate=true, so a re-run
with the same --seed re-keys the same devices). With --ledger-state (a local system) the
summary ends with the message ledger. Exit code 0 unless the fleet cannot start (2) or the
ledger has unexplained messages (1).
"""

import asyncio
import contextlib
import dataclasses
import json as json_text
import logging
import os
import signal
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from rs1tools import ledger_sources
from rs1tools.cli import run as run_app
from rs1tools.devvars import secret
from rs1tools.fleet.config import FleetConfig
from rs1tools.fleet.faults import FaultSpec, parse_faults
from rs1tools.fleet.identity import FleetStartError, write_secrets
from rs1tools.fleet.progress import show_progress
from rs1tools.fleet.runner import Fleet, resolve_identities
from rs1tools.fleet.stats import FleetSummary
from rs1tools.ledger import Ledger
from rs1tools.localstack import local_d1_query

EXIT_CANNOT_START = 2


def _faults(text: str) -> tuple[FaultSpec, ...]:
    try:
        return parse_faults(text)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--faults") from None


def _state_interval(seconds: float) -> float | None:
    return None if seconds == 0 else seconds


app = typer.Typer(add_completion=False, rich_markup_mode=None)
Opt = typer.Option
DEFAULT_API = os.environ.get("RS1_DEVICE_API_URL", "http://127.0.0.1:8787")
LEDGER_HELP = (
    "a local system's state directory (make dev: .state): balance the message ledger against "
    "its broker (--broker-api) and D1 at the end"
)


@dataclasses.dataclass(frozen=True)
class Run:
    """What the command does besides the fleet's own configuration."""

    write_secrets: Path | None
    as_json: bool
    ledger_at: tuple[Path, str] | None


def _offsets(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in text.split(","))
    except ValueError:
        raise ValueError(f"--utc-offsets: {text!r} is not a list of minutes") from None


def _tags(pairs: list[str]) -> dict[str, tuple[str, ...]]:
    tags = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        values = tuple(v.strip() for v in text.split(",") if v.strip())
        if not sep or not key.strip() or not values:
            raise ValueError(f"--tag: {pair!r} is not KEY=V1,V2")
        tags[key.strip()] = values
    return tags


def build_config(params: dict[str, Any]) -> tuple[FleetConfig, Run]:
    """The command's options → the fleet's configuration and the run's own settings."""
    config = FleetConfig(
        devices=params["devices"],
        duration_s=params["duration"],
        mqtt_host=params["mqtt_host"],
        mqtt_port=params["mqtt_port"],
        api=params["api"],
        secrets=params["secrets"],
        telemetry_interval_s=params["telemetry_interval"],
        telemetry_qos=params["telemetry_qos"],
        state_interval_s=_state_interval(params["state_interval"]),
        clock_speed=params["clock_speed"],
        faults=_faults(params["faults"]),
        seed=params["seed"],
        duplicate_rate=params["duplicates"],
        keepalive_s=params["keepalive"],
        ramp_s=params["ramp"],
        firmware_version=params["firmware"],
        utc_offsets_min=_offsets(params["utc_offsets"]),
        device_tags=_tags(params["tag"] or []),
    )
    ledger = params["ledger_state"]
    ledger_at = None if ledger is None else (ledger, params["broker_api"])
    return config, Run(params["write_secrets"], params["json"], ledger_at)


def config_for(argv: list[str]) -> FleetConfig:
    """The configuration these arguments give (tests)."""
    context = typer.main.get_command(app).make_context("rs1tools.fleet", list(argv))
    return build_config(context.params)[0]


@app.command()
def fleet(
    devices: Annotated[int, Opt()] = 10,
    duration: Annotated[float, Opt(help="seconds to run")] = 60.0,
    faults: Annotated[str, Opt(help="e.g. flaky:0.1,power-loss")] = "",
    seed: Annotated[int, Opt(help="MACs and fault assignment follow it")] = 1,
    json: Annotated[bool, Opt("--json", help="print the summary as JSON")] = False,
    mqtt_host: Annotated[str, Opt()] = "127.0.0.1",
    mqtt_port: Annotated[int, Opt()] = 1883,
    api: Annotated[str, Opt(help="the device API (RS1_DEVICE_API_URL)")] = DEFAULT_API,
    secrets: Annotated[Path | None, Opt(help="secrets CSV (rs1ctl enroll-batch)")] = None,
    write_secrets: Annotated[Path | None, Opt(help="save the enrolled secrets here")] = None,
    telemetry_interval: Annotated[float, Opt(help="seconds")] = 5.0,
    telemetry_qos: Annotated[int, Opt(min=0, max=1, help="state/OTA stay QoS 1")] = 1,
    state_interval: Annotated[
        float, Opt(help="re-announce state every N s (± 10%); 0: only on connect")
    ] = 90.0,
    clock_speed: Annotated[float, Opt(help="device time / real time")] = 1.0,
    duplicates: Annotated[float, Opt(help="telemetry resend probability")] = 0.02,
    keepalive: Annotated[int, Opt()] = 30,
    ramp: Annotated[float, Opt(help="spread boots over N seconds")] = 5.0,
    firmware: Annotated[str, Opt()] = "1.0.0",
    utc_offsets: Annotated[
        str, Opt(help="UTC offsets in minutes, each device picks one: 0,60,-300")
    ] = "0",
    tag: Annotated[
        list[str] | None, Opt(help="KEY=V1,V2: each device reports one value (repeat)")
    ] = None,
    ledger_state: Annotated[Path | None, Opt(help=LEDGER_HELP)] = None,
    broker_api: Annotated[str, Opt(help="with --ledger-state")] = "http://127.0.0.1:18083",
) -> None:
    """A simulated RS-1 fleet of real MQTT clients."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        config, plan = build_config(locals())
    except ValueError as exc:
        print(f"fleet: {exc}", file=sys.stderr)
        raise typer.Exit(EXIT_CANNOT_START) from None
    try:
        code = asyncio.run(run(config, plan.write_secrets, plan.as_json, plan.ledger_at))
    except FleetStartError as exc:
        print(f"fleet: cannot start: {exc}", file=sys.stderr)
        raise typer.Exit(EXIT_CANNOT_START) from None
    raise typer.Exit(code)


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
        print(json_text.dumps({**summary.to_dict(), "ledger": led and led.to_dict()}, indent=2))
    else:
        show_summary(summary, led)
    return 0 if led is None or not led.unexplained else 1


def _cell(value: object) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k}={v}" for k, v in value.items()) or "—"
    return str(value)


def show_summary(summary: FleetSummary, led: Ledger | None) -> None:
    """The human summary (--json is the machine one): a figure a line, then the ledger."""
    console = Console(highlight=False, markup=False)  # made here: follows sys.stdout
    grid = Table.grid(padding=(0, 2))
    grid.add_column(justify="right", style="bold")
    grid.add_column(overflow="fold")
    for name, value in summary.to_dict().items():
        grid.add_row(name, _cell(value))
    console.print(grid)
    if led is not None:
        style = "bold red" if led.unexplained else "bold green"
        console.print(Text(led.lines()[0], style=style), *led.lines()[1:], sep="\n", soft_wrap=True)


def main(argv: list[str] | None = None) -> int:
    return run_app(app, argv, "rs1tools.fleet")
