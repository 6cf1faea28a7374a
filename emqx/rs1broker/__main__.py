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

import argparse
import asyncio
import logging
import signal
import sys
from dataclasses import replace
from pathlib import Path

from rs1broker.config_file import ConfigError
from rs1broker.logs import configure
from rs1broker.runner import BrokerService
from rs1broker.settings import DEFAULT_CONFIG, DEFAULT_REORDER_SEED, load_settings

log = logging.getLogger("rs1broker")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="rs1broker", description="EMQX-compatible local broker (amqtt + emqx.conf)"
    )
    parser.add_argument("--config", type=Path, default=DEFAULT_CONFIG)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--mqtt-port", type=int, default=1883)
    parser.add_argument("--api-port", type=int, default=18083)
    parser.add_argument("--log-level", default="info", choices=["debug", "info", "warning"])
    parser.add_argument("--reorder-seed", type=_seed, default=DEFAULT_REORDER_SEED)
    parser.add_argument("--ledger-file", type=Path, default=None)
    return parser.parse_args(argv)


def _seed(value: str) -> int | None:
    return None if value.lower() in ("off", "none") else int(value)


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
    args = parse_args(argv)
    configure(args.log_level)
    try:
        settings = load_settings(args.config)
    except ConfigError as exc:
        log.error("config: %s", exc)
        return 2
    settings = replace(settings, reorder_seed=args.reorder_seed, ledger_file=args.ledger_file)
    service = BrokerService(settings, args.host, args.mqtt_port, args.api_port)
    try:
        asyncio.run(serve(service))
    except OSError as exc:  # typically the port is taken
        log.error("cannot listen: %s", exc)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
