"""A local amqtt broker for the fleet's own tests and scale runs.

Anonymous by default, which proves the client side only. With `secrets` it checks each
device's hourly HMAC password (rs1.identity.keys) and client id == username == device id,
so refusals of wrong-password and clock-skew devices can be seen without the full stack.
It has no ACL; the EMQX-compatible broker with HTTP auth/authz lives in emqx/.

    python -m rs1tools.fleet.broker --port 1883 [--secrets secrets.csv]
"""

import asyncio
import contextlib
import logging
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

import typer
from amqtt.broker import Broker
from amqtt.plugins.base import BaseAuthPlugin
from amqtt.session import Session

from rs1.identity.keys import verify_mqtt_password
from rs1tools.cli import run
from rs1tools.fleet.identity import DeviceIdentity, read_secrets

ANONYMOUS = "amqtt.plugins.authentication.AnonymousAuthPlugin"
HMAC = f"{__name__}.HmacAuthPlugin"


class HmacAuthPlugin(BaseAuthPlugin):
    """Accept a device whose password is its current (or previous) hour's HMAC."""

    @dataclass
    class Config(BaseAuthPlugin.Config):
        secrets: dict[str, str] = field(default_factory=dict)  # device id → device secret

    async def authenticate(self, *, session: Session) -> bool:
        device_id, password = session.username or "", session.password or ""
        secret = self.config.secrets.get(device_id)
        if secret is None or session.client_id != device_id:
            return False
        return verify_mqtt_password(secret, device_id, password, time.time())


def broker_config(
    host: str, port: int, secrets: list[DeviceIdentity] | None = None
) -> dict[str, object]:
    if secrets is None:
        auth: dict[str, object] = {ANONYMOUS: {"allow_anonymous": True}}
    else:
        auth = {HMAC: {"secrets": {d.device_id: d.device_secret for d in secrets}}}
    return {"listeners": {"default": {"type": "tcp", "bind": f"{host}:{port}"}}, "plugins": auth}


@contextlib.asynccontextmanager
async def running_broker(
    host: str = "127.0.0.1", port: int = 1883, secrets: list[DeviceIdentity] | None = None
) -> AsyncIterator[Broker]:
    logging.getLogger("amqtt").setLevel(logging.WARNING)  # it logs every packet below that
    broker = Broker(broker_config(host, port, secrets))
    await broker.start()
    try:
        yield broker
    finally:
        await broker.shutdown()


async def serve(host: str, port: int, secrets: list[DeviceIdentity] | None) -> None:
    async with running_broker(host, port, secrets):
        await asyncio.Event().wait()


app = typer.Typer(add_completion=False)


@app.command()
def broker(
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 1883,
    secrets: Annotated[
        Path | None, typer.Option(help="check HMAC passwords against this CSV")
    ] = None,
) -> None:
    """A plain MQTT broker for the fleet alone (no Workers)."""
    known = read_secrets(secrets) if secrets else None
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(host, port, known))


def main(argv: list[str] | None = None) -> int:
    return run(app, argv, "rs1tools.fleet.broker")


if __name__ == "__main__":
    sys.exit(main())
