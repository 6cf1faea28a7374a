"""`make dev`: run the three Workers and the EMQX-compatible local broker until Ctrl-C.

SIGTERM, SIGINT and SIGHUP stop everything it started (rs1tools.system.LocalSystem). Ports
and the state directory: flags, or the environment (`RS1_MQTT_PORT=1884 make dev`).
"""

import argparse
import os
import sys
import time
from pathlib import Path

from rs1tools.localstack import DEFAULT_PORTS, ROOT
from rs1tools.system import LocalSystem

PORTS = {**DEFAULT_PORTS, "mqtt": 1883, "emqx_api": 18083}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    env = os.environ.get
    parser = argparse.ArgumentParser(
        prog="rs1tools.dev", description="Run the Workers and the local broker."
    )
    parser.add_argument(
        "--state-dir", type=Path, default=Path(env("RS1_STATE_DIR", ROOT / ".state")),
        help="D1/KV/R2 state and logs (env RS1_STATE_DIR; default .state)",
    )  # fmt: skip
    for name, default in PORTS.items():
        var = f"RS1_{name.upper()}_PORT"
        parser.add_argument(
            f"--{name.replace('_', '-')}-port", type=int, default=int(env(var, default)),
            help=f"env {var}; default {default}",
        )  # fmt: skip
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    print("[dev] applying D1 migrations, starting the Workers and the local broker ...", flush=True)
    ports = {name: getattr(args, f"{name}_port") for name in DEFAULT_PORTS}
    system = LocalSystem(args.state_dir.resolve(), ports, args.mqtt_port, args.emqx_api_port)
    try:
        with system:
            print(f"[dev] ready (logs: {system.state_dir}/host.log, broker.log)")
            for name, url in system.urls.items():
                print(f"[dev]   {name:<11} {url}")
            print(f"[dev]   broker      mqtt://127.0.0.1:{args.mqtt_port}  {system.emqx_api_url}")
            print("[dev] Ctrl-C to stop.", flush=True)
            # Until one of them dies on its own: then stop the other, so no port stays held.
            while system.running():
                time.sleep(1)
    except KeyboardInterrupt:  # (also while starting) everything is stopped by now
        return 0
    print("[dev] the Workers host or the broker exited: see their logs", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
