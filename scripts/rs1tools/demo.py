"""`make demo`: the whole local system. For now: start the stack and show it healthy."""

import json
import sys

import httpx

from rs1tools.localstack import LocalStack


def main() -> int:
    print("[demo] starting the local runtime (3 Python Workers, Miniflare D1/KV/R2) ...")
    with LocalStack() as stack:
        ok = True
        for url in stack.urls.values():
            body = httpx.get(f"{url}/health", timeout=10).json()
            ok &= body["status"] == "ok"
            print(f"[demo] {body['worker']:<15} {url}/health  checks={json.dumps(body['checks'])}")
        print("[demo] all Workers healthy" if ok else "[demo] some Workers are degraded")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
