"""Fire rs1-telemetry's crons against a local system the way Cloudflare's scheduler would:
`wrangler dev` and the local host run a cron only when asked
(`/cdn-cgi/local/scheduled?cron=...`), so `make dev` and the demo ask.

The schedule is wrangler.telemetry.toml's [triggers] crons. The matcher knows the forms those
use (`*`, `*/N`, `N` per field); croniter does the general case, but one dependency for four
fixed expressions is not worth it.
"""

import time
import tomllib
from datetime import UTC, datetime

import httpx

from rs1tools.localstack import ROOT

EVERY_MINUTE = "* * * * *"


def schedule() -> list[str]:
    config = tomllib.loads((ROOT / "wrangler.telemetry.toml").read_text())
    return list(config["triggers"]["crons"])


def _field(spec: str, value: int) -> bool:
    if spec == "*":
        return True
    if spec.startswith("*/"):
        return value % int(spec[2:]) == 0
    return value == int(spec)


def due(cron: str, at: datetime) -> bool:
    """Does `cron` (minute hour day-of-month month day-of-week) fire in this minute?"""
    values = (at.minute, at.hour, at.day, at.month, at.isoweekday() % 7)
    return all(_field(s, v) for s, v in zip(cron.split(), values, strict=True))


def fire(telemetry_url: str, cron: str, at_ms: int | None = None) -> None:
    params: dict[str, str | int] = {"cron": cron}
    if at_ms is not None:
        params["time"] = at_ms
    httpx.get(f"{telemetry_url}/cdn-cgi/local/scheduled", params=params, timeout=120)


def fire_due(telemetry_url: str, crons: list[str], now: float | None = None) -> list[str]:
    """Fire every cron due in the current minute; which ones."""
    at = datetime.fromtimestamp(time.time() if now is None else now, UTC)
    fired = [c for c in crons if due(c, at)]
    for cron in fired:
        fire(telemetry_url, cron)
    return fired
