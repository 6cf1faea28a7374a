"""rs1ctl — ops command line for RS-1 Cloud.

    python -m rs1tools.rs1ctl token [--role admin] [--sub ops] [--ttl 3600]
                                    [--state-dir .state | --remote [--env production]]
    python -m rs1tools.rs1ctl enroll AA:BB:CC:DD:EE:FF [--model RS-1] [--rotate]
    python -m rs1tools.rs1ctl enroll-batch macs.csv --out secrets.csv [--rotate]
    python -m rs1tools.rs1ctl revoke DEVICE_ID | enable DEVICE_ID | device DEVICE_ID

Tokens are signed with JWT_SECRET (environment, else .dev.vars) and live only while their
session is in KV SESSIONS: `token` writes it there with wrangler (the local state directory, or
Cloudflare with --remote). API calls go to --api / RS1_DEVICE_API_URL (default
http://127.0.0.1:8787) with RS1_ADMIN_TOKEN, else a new admin session in the local state
(RS1_STATE_DIR, default .state) — against production, export RS1_ADMIN_TOKEN from
`rs1ctl token --remote --env production` first.
The batch secrets file is what the factory burns into devices: keep it off shared disks.
"""

import argparse
import csv
import json
import os
import sys
from pathlib import Path

import httpx

from rs1tools.devvars import ROOT
from rs1tools.sessions import bearer, bootstrap_token

BATCH = 2_000  # MACs per request (the API takes up to 10,000)


def admin_token() -> str:
    if token := os.environ.get("RS1_ADMIN_TOKEN"):
        return token
    state_dir = Path(os.environ.get("RS1_STATE_DIR", ROOT / ".state"))
    return bootstrap_token("rs1ctl", "admin", 600, state_dir=state_dir)


def client(api: str, token: str | None = None) -> httpx.Client:
    headers = bearer(token or admin_token())
    return httpx.Client(base_url=api, headers=headers, timeout=120)


def read_macs(path: Path) -> list[str]:
    """A CSV whose first column (or a `mac_address` column) holds MACs; other lines ignored."""
    with path.open(newline="") as f:
        rows = list(csv.reader(f))
    if rows and "mac_address" in rows[0]:
        col = rows[0].index("mac_address")
        return [r[col].strip() for r in rows[1:] if len(r) > col and r[col].strip()]
    return [r[0].strip() for r in rows if r and r[0].strip()]


def enroll_batch(
    api: str, macs: list[str], rotate: bool, token: str | None = None
) -> dict[str, list]:
    total: dict[str, list] = {"enrolled": [], "conflicts": [], "invalid": []}
    with client(api, token) as http:
        for start in range(0, len(macs), BATCH):
            chunk = [{"mac_address": m} for m in macs[start : start + BATCH]]
            response = http.post("/admin/devices:batch", json={"devices": chunk, "rotate": rotate})
            response.raise_for_status()
            for key, rows in response.json().items():
                total[key] += rows
    return total


def write_secrets(path: Path, enrolled: list[dict]) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["mac_address", "device_id", "device_secret", "key_generation"])
        for d in enrolled:
            row = [d["mac_address"], d["device_id"], d["device_secret"], d["key_generation"]]
            writer.writerow(row)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="rs1ctl", description=(__doc__ or "").split("\n")[0])
    parser.add_argument(
        "--api", default=os.environ.get("RS1_DEVICE_API_URL", "http://127.0.0.1:8787")
    )
    sub = parser.add_subparsers(dest="command", required=True)
    tok = sub.add_parser("token", help="mint a bearer token and register its session")
    tok.add_argument("--role", choices=["admin", "user"], default="admin")
    tok.add_argument("--sub", default="ops")
    tok.add_argument("--ttl", type=int, default=3600, help="seconds, at most 86400")
    tok.add_argument("--state-dir", type=Path, default=ROOT / ".state")
    tok.add_argument("--remote", action="store_true", help="Cloudflare's KV, not local state")
    tok.add_argument("--env", help="wrangler environment with --remote (e.g. production)")
    one = sub.add_parser("enroll", help="enrol one device; prints its id and secret")
    one.add_argument("mac")
    one.add_argument("--model")
    one.add_argument("--rotate", action="store_true")
    many = sub.add_parser("enroll-batch", help="enrol a factory run from a CSV of MACs")
    many.add_argument("csv", type=Path)
    many.add_argument("--out", type=Path, required=True)
    many.add_argument("--rotate", action="store_true")
    for name in ("revoke", "enable", "device"):
        sub.add_parser(name).add_argument("device_id")
    args = parser.parse_args(argv)

    if args.command == "token":
        state_dir = None if args.remote else args.state_dir
        print(bootstrap_token(args.sub, args.role, args.ttl, state_dir, args.env))
        return 0
    if args.command == "enroll-batch":
        result = enroll_batch(args.api, read_macs(args.csv), args.rotate)
        write_secrets(args.out, result["enrolled"])
        summary = {k: len(v) for k, v in result.items()}
        print(json.dumps({**summary, "secrets_file": str(args.out)}))
        return 0 if not result["invalid"] else 1
    with client(args.api) as http:
        if args.command == "enroll":
            body = {"mac_address": args.mac, "model": args.model, "rotate": args.rotate}
            response = http.post("/admin/devices", json=body)
        elif args.command == "device":
            response = http.get(f"/admin/devices/{args.device_id}")
        else:
            response = http.post(f"/admin/devices/{args.device_id}/{args.command}")
    print(json.dumps(response.json(), indent=2))
    return 0 if response.is_success else 1


if __name__ == "__main__":
    sys.exit(main())
