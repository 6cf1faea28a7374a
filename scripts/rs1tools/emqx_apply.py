"""Apply emqx/emqx.conf's authn, authz, connector, actions and rules to a running EMQX 5
through its REST API — how EMQX Cloud (no config-file access) is configured.

    python -m rs1tools.emqx_apply --url https://EMQX:8443 [--config emqx/emqx.conf] [--dry-run]

Auth: Basic with EMQX_API_KEY (key:secret). --dry-run prints every request (secrets masked)
and sends nothing. Re-running is safe: an object that exists (409) is updated with PUT.
The file is rendered and checked by the same code as `python -m rs1broker.render`: only
WEBHOOK_SECRET is needed (node and dashboard settings are not applied over REST).
"""

import json
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer

ROOT = Path(__file__).resolve().parents[2]
sys.path.append(str(ROOT / "emqx"))  # rs1broker: the one reader of emqx.conf, by EMQX's rules
from rs1broker.config_file import ConfigError, load_rendered  # noqa: E402

from rs1tools.cli import run  # noqa: E402

SECRET_HEADERS = {"x-webhook-secret"}
# Markers of settings this tool never sends; they only need a value to render.
NOT_APPLIED = {"EMQX_NODE_COOKIE": "not-applied", "EMQX_DASHBOARD_PASSWORD": "not-applied"}


@dataclass(frozen=True)
class ApiCall:
    method: str
    path: str
    body: Any
    update_path: str | None = None  # PUT here when POST says the object exists


def plain(value: Any) -> Any:
    """Parsed values → JSON-able values, durations back to EMQX's "60s" form."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, timedelta):
        return f"{int(value.total_seconds())}s"
    return value


def load_config(path: Path, dry_run: bool = False) -> dict[str, Any]:
    secret = os.environ.get("WEBHOOK_SECRET", "")
    if not secret and not dry_run:  # a dry run may show the plan without the secret
        raise SystemExit("WEBHOOK_SECRET must be set: it is sent to EMQX for the webhooks")
    try:
        conf = load_rendered(
            path.read_text(), {**NOT_APPLIED, "WEBHOOK_SECRET": secret or "unset"}, str(path)
        )
    except (ConfigError, OSError) as exc:
        raise SystemExit(f"emqx_apply: {exc}") from None
    return plain(conf)


def calls(conf: dict[str, Any]) -> Iterator[ApiCall]:
    for authn in conf.get("authentication", []):
        yield ApiCall(
            "POST", "/api/v5/authentication", authn, "/api/v5/authentication/password_based:http"
        )
    authz = conf.get("authorization", {})
    settings = {k: authz[k] for k in ("no_match", "deny_action", "cache") if k in authz}
    yield ApiCall("PUT", "/api/v5/authorization/settings", settings)
    for source in authz.get("sources", []):
        yield ApiCall(
            "POST",
            "/api/v5/authorization/sources",
            source,
            f"/api/v5/authorization/sources/{source['type']}",
        )
    for name, connector in conf.get("connectors", {}).get("http", {}).items():
        body = {"type": "http", "name": name, **connector}
        yield ApiCall("POST", "/api/v5/connectors", body, f"/api/v5/connectors/http:{name}")
    for name, action in conf.get("actions", {}).get("http", {}).items():
        body = {"type": "http", "name": name, **action}
        yield ApiCall("POST", "/api/v5/actions", body, f"/api/v5/actions/http:{name}")
    for rule_id, rule in conf.get("rule_engine", {}).get("rules", {}).items():
        body = {"id": rule_id, "enable": True, **rule}
        yield ApiCall("POST", "/api/v5/rules", body, f"/api/v5/rules/{rule_id}")


def masked(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: "***" if k.lower() in SECRET_HEADERS else masked(v) for k, v in value.items()}
    if isinstance(value, list):
        return [masked(v) for v in value]
    return value


def apply(client: httpx.Client, call: ApiCall) -> int:
    response = client.request(call.method, call.path, json=call.body)
    if response.status_code == 409 and call.update_path:
        body = {k: v for k, v in call.body.items() if k not in ("id", "name", "type")}
        response = client.put(call.update_path, json=body)
    print(f"{call.method} {call.path} -> {response.status_code}")
    return response.status_code


app = typer.Typer(add_completion=False)
DEFAULT_URL = os.environ.get("EMQX_API_URL", "http://127.0.0.1:18083")


@app.command()
def apply_config(
    url: Annotated[str, typer.Option(help="EMQX's HTTP API")] = DEFAULT_URL,
    config: Annotated[Path, typer.Option(help="the EMQX config")] = ROOT / "emqx" / "emqx.conf",
    dry_run: Annotated[bool, typer.Option("--dry-run", help="print the requests only")] = False,
) -> None:
    """Apply emqx.conf's authn, authz, connector, actions and rules over EMQX's REST API."""
    planned = list(calls(load_config(config, dry_run)))
    if dry_run:
        for call in planned:
            print(json.dumps({"method": call.method, "path": call.path, "body": masked(call.body)}))
        return
    key, _, secret = os.environ.get("EMQX_API_KEY", "").partition(":")
    with httpx.Client(base_url=url, auth=(key, secret), timeout=30) as client:
        failures = [c for c in planned if apply(client, c) >= 400]
    raise typer.Exit(1 if failures else 0)


def main(argv: list[str] | None = None) -> int:
    return run(app, argv, "rs1tools.emqx_apply")


if __name__ == "__main__":
    sys.exit(main())
