"""`make dev`: run the three Workers and the EMQX-compatible local broker until Ctrl-C.

SIGTERM, SIGINT and SIGHUP stop everything it started (rs1tools.system.LocalSystem). Ports
and the state directory: flags, or the environment (`RS1_MQTT_PORT=1884 make dev`).
"""

import sys
import time
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer

from rs1tools.cli import run
from rs1tools.console import CONSOLE_PORT, local_console, web_origins
from rs1tools.crons import fire_due, schedule
from rs1tools.localstack import DEFAULT_PORTS, ROOT
from rs1tools.system import LocalSystem

PORTS = {**DEFAULT_PORTS, "mqtt": 1883, "emqx_api": 18083}


app = typer.Typer(add_completion=False, help="Run the Workers and the local broker.")


def _port(name: str) -> Any:
    return typer.Option(f"--{name.replace('_', '-')}-port", envvar=f"RS1_{name.upper()}_PORT")


StateDir = Annotated[Path, typer.Option(envvar="RS1_STATE_DIR", help="D1/KV/R2 state and logs")]


@app.command()
def serve(
    state_dir: StateDir = ROOT / ".state",
    device_api_port: Annotated[int, _port("device_api")] = PORTS["device_api"],
    ota_port: Annotated[int, _port("ota")] = PORTS["ota"],
    telemetry_port: Annotated[int, _port("telemetry")] = PORTS["telemetry"],
    mqtt_port: Annotated[int, _port("mqtt")] = PORTS["mqtt"],
    emqx_api_port: Annotated[int, _port("emqx_api")] = PORTS["emqx_api"],
    console_port: Annotated[int, _port("console")] = CONSOLE_PORT,
) -> None:
    """Run the Workers and the local broker until Ctrl-C."""
    print("[dev] applying D1 migrations, starting the Workers and the local broker ...", flush=True)
    ports = {"device_api": device_api_port, "ota": ota_port, "telemetry": telemetry_port}
    origins = {"WEB_ORIGINS": web_origins(console_port)}
    system = LocalSystem(state_dir.resolve(), ports, mqtt_port, emqx_api_port, origins)
    try:
        with system, local_console(system.urls["device_api"], system.state_dir, console_port) as c:
            print(f"[dev] ready (logs: {system.state_dir}/host.log, broker.log)")
            for name, url in system.urls.items():
                print(f"[dev]   {name:<11} {url}")
            print(f"[dev]   broker      mqtt://127.0.0.1:{mqtt_port}  {system.emqx_api_url}")
            print(f"[dev]   console     {c.url}  (web/dist; dev sign-in, any user id)")
            print("[dev] the crons of wrangler.telemetry.toml fire on their schedule")
            print("[dev] Ctrl-C to stop.", flush=True)
            crons, minute = schedule(), -1
            # Until one of them dies on its own: then stop the other, so no port stays held.
            while system.running():
                if int(time.time() // 60) != minute:  # each minute once, as Cloudflare does
                    minute = int(time.time() // 60)
                    _fire_due(system.urls["telemetry"], crons)
                time.sleep(1)
    except KeyboardInterrupt:  # (also while starting) everything is stopped by now
        return
    print("[dev] the Workers host or the broker exited: see their logs", file=sys.stderr)
    raise typer.Exit(1)


def _fire_due(url: str, crons: list[str]) -> None:
    try:
        fire_due(url, crons)
    except httpx.HTTPError as exc:  # the host is restarting: the next minute fires again
        print(f"[dev] cron not fired: {exc!r}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    return run(app, argv, "rs1tools.dev")


if __name__ == "__main__":
    sys.exit(main())
