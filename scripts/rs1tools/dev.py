"""`make dev`: run the three Workers and the EMQX-compatible local broker until Ctrl-C."""

import sys
import time

from rs1tools.system import LocalSystem


def main() -> int:
    print("[dev] applying D1 migrations, starting the Workers and the local broker ...", flush=True)
    with LocalSystem() as system:
        stack = system.stack
        print(f"[dev] ready (logs: {system.state_dir}/host.log, broker.log)")
        for name, url in stack.urls.items():  # type: ignore[union-attr]
            print(f"[dev]   {name:<11} {url}")
        print(f"[dev]   broker      mqtt://127.0.0.1:{system.mqtt_port}  {system.emqx_api_url}")
        print("[dev] Ctrl-C to stop.", flush=True)
        try:
            while stack.process.poll() is None:  # type: ignore[union-attr]
                time.sleep(1)
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
