"""Enrolment: one device, or a factory run from a CSV of MACs (POST /admin/devices:batch).

The batch secrets file is what the factory burns into devices: mode 0600, keep it off shared
disks. `enroll_batch`, `read_macs` and `write_secrets` are also the simulated fleet's API.
"""

import csv
import os
from pathlib import Path
from typing import Annotated, Any

import typer

from rs1tools.rs1ctl import output, profiles
from rs1tools.rs1ctl.client import Api
from rs1tools.rs1ctl.exits import Exit
from rs1tools.rs1ctl.state import JsonOpt, ctl

BATCH = 2_000  # MACs per request (the API takes up to 10,000)
SECRETS_HEADER = ["mac_address", "device_id", "device_secret", "key_generation"]


def admin_token() -> str:
    """RS1_TOKEN / RS1_ADMIN_TOKEN, else a fresh admin session in the local state."""
    for name in profiles.TOKEN_ENV:
        if token := os.environ.get(name):
            return token
    return profiles.local_admin_token()


def read_macs(path: Path) -> list[str]:
    """A CSV whose first column (or a `mac_address` column) holds MACs; other lines ignored."""
    with path.open(newline="") as f:
        rows = list(csv.reader(f))
    if rows and "mac_address" in rows[0]:
        col = rows[0].index("mac_address")
        return [r[col].strip() for r in rows[1:] if len(r) > col and r[col].strip()]
    return [r[0].strip() for r in rows if r and r[0].strip()]


def enroll(api: Api, mac: str, model: str | None = None, rotate: bool = False) -> dict[str, Any]:
    return api.post("/admin/devices", {"mac_address": mac, "model": model, "rotate": rotate})


def enroll_macs(api: Api, macs: list[str], rotate: bool) -> dict[str, list]:
    total: dict[str, list] = {"enrolled": [], "conflicts": [], "invalid": []}
    for start in range(0, len(macs), BATCH):
        chunk = [{"mac_address": m} for m in macs[start : start + BATCH]]
        answer = api.post("/admin/devices:batch", {"devices": chunk, "rotate": rotate})
        for key, rows in answer.items():
            total[key] += rows
    return total


def enroll_batch(
    api: str, macs: list[str], rotate: bool, token: str | None = None
) -> dict[str, list]:
    """enroll_macs against the API at `api` (the fleet's entry point)."""
    client = Api.connect(api, token or admin_token())
    try:
        return enroll_macs(client, macs, rotate)
    finally:
        client.close()


def write_secrets(path: Path, enrolled: list[dict]) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(SECRETS_HEADER)
        for d in enrolled:
            writer.writerow([d[name] for name in SECRETS_HEADER])


def enroll_cmd(
    ctx: typer.Context,
    mac: Annotated[str, typer.Argument(help="AA:BB:CC:DD:EE:FF")],
    model: Annotated[str | None, typer.Option(help="Hardware model, e.g. RS-1")] = None,
    rotate: Annotated[bool, typer.Option(help="Re-key an enrolled device")] = False,
    json_out: JsonOpt = False,
) -> None:
    """Enrol one device; prints its id and secret (shown once)."""
    c = ctl(ctx)
    enrolled = enroll(c.api(), mac, model, rotate)
    if not c.json:
        output.warn("the device secret is shown once: store it now")
    output.emit(c, enrolled, output.fields)


def enroll_batch_cmd(
    ctx: typer.Context,
    macs_csv: Annotated[Path, typer.Argument(help="CSV of MACs", exists=True, dir_okay=False)],
    out: Annotated[Path, typer.Option("--out", help="Secrets CSV to write (mode 0600)")],
    rotate: Annotated[bool, typer.Option(help="Re-key enrolled devices")] = False,
    json_out: JsonOpt = False,
) -> None:
    """Enrol a factory run from a CSV of MACs; writes the secrets file (exit 6 if any MAC
    was invalid)."""
    c = ctl(ctx)
    result = enroll_macs(c.api(), read_macs(macs_csv), rotate)
    write_secrets(out, result["enrolled"])
    summary = {**{k: len(v) for k, v in result.items()}, "secrets_file": str(out)}
    output.emit(c, summary, output.fields)
    if result["invalid"]:
        if not c.json:
            output.table(result["invalid"], ["mac_address", "message"], title="invalid MACs")
        raise typer.Exit(Exit.INVALID)
