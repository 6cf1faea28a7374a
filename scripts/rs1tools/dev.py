"""`make dev`: run the three Workers locally until Ctrl-C."""

import sys

from rs1tools.localstack import LocalStack


def main() -> int:
    stack = LocalStack()
    print("[dev] applying D1 migrations and starting the local runtime ...", flush=True)
    seconds = stack.start()
    print(f"[dev] ready in {seconds:.1f} s (logs: {stack.state_dir / 'host.log'})")
    for name, url in stack.urls.items():
        print(f"[dev]   {name:<11} {url}")
    print("[dev] Ctrl-C to stop.", flush=True)
    try:
        stack.process.wait()  # type: ignore[union-attr]
    except KeyboardInterrupt:
        pass
    finally:
        stack.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
