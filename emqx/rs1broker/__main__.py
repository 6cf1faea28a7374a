"""Run the EMQX-compatible local broker from emqx/emqx.conf.

    cd /work/main && PYTHONPATH=emqx:workers:scripts .venv/bin/python -m rs1broker \\
        --config emqx/emqx.conf [--host 127.0.0.1] [--mqtt-port 1883] [--api-port 18083] \
        [--reorder-seed N|off] [--ledger-file PATH]

rs1-only (not in EMQX, emqx/README.md "Delivery semantics"): --reorder-seed seeds the
deliberate shuffle of action deliveries (default 1; "off" keeps the natural order),
--ledger-file appends a JSON line for every message that does not reach a 2xx.

Environment: WEBHOOK_SECRET (required: rendered into the config's "${WEBHOOK_SECRET}"
markers, as `python -m rs1broker.render` does for production), RS1_WEBHOOK_BASE (where
https://api.optic.works webhooks go, e.g. http://127.0.0.1:8789), EMQX_API_KEY (key:secret
for the HTTP API).
"""

import asyncio
import logging
import signal
import sys
from dataclasses import replace
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from rs1broker.cli import run
from rs1broker.config_file import ConfigError
from rs1broker.logs import configure
from rs1broker.runner import BrokerService
from rs1broker.settings import DEFAULT_CONFIG, DEFAULT_REORDER_SEED, load_settings

log = logging.getLogger("rs1broker")


class LogLevel(StrEnum):
    debug = "debug"
    info = "info"
    warning = "warning"


def _seed(value: str) -> int | None:
    return None if value.lower() in ("off", "none") else int(value)


app = typer.Typer(add_completion=False)
Opt = typer.Option


@app.command()
def broker(
    config: Annotated[Path, Opt(help="the EMQX config it runs")] = DEFAULT_CONFIG,
    host: Annotated[str, Opt()] = "127.0.0.1",
    mqtt_port: Annotated[int, Opt()] = 1883,
    api_port: Annotated[int, Opt()] = 18083,
    log_level: Annotated[LogLevel, Opt()] = LogLevel.info,
    reorder_seed: Annotated[str, Opt(help="seed of the delivery shuffle, or off")] = str(
        DEFAULT_REORDER_SEED
    ),
    ledger_file: Annotated[Path | None, Opt(help="JSON lines of undelivered messages")] = None,
) -> None:
    """EMQX-compatible local broker (amqtt + emqx.conf)."""
    configure(log_level.value)
    try:
        seed = _seed(reorder_seed)
    except ValueError:
        raise typer.BadParameter("a number, or off", param_hint="--reorder-seed") from None
    try:
        settings = load_settings(config)
    except ConfigError as exc:
        log.error("config: %s", exc)
        raise typer.Exit(2) from None
    settings = replace(settings, reorder_seed=seed, ledger_file=ledger_file)
    service = BrokerService(settings, host, mqtt_port, api_port)
    try:
        asyncio.run(serve(service))
    except OSError as exc:  # typically the port is taken
        log.error("cannot listen: %s", exc)
        raise typer.Exit(1) from None


async def serve(service: BrokerService) -> None:
    await service.start()
    if not len(service.api_keys):
        log.warning("no API key configured (EMQX_API_KEY or the bootstrap file): API calls get 401")
    log.info(
        "EMQX-compatible local broker ready: mqtt://%s:%d, HTTP API http://%s:%d",
        service.host, service.mqtt_port, service.host, service.api_port,
    )  # fmt: skip
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        await stop.wait()
    finally:
        log.info("stopping")
        await service.stop()


def main(argv: list[str] | None = None) -> int:
    return run(app, argv, "rs1broker")


if __name__ == "__main__":
    sys.exit(main())
