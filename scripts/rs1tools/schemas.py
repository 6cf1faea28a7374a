"""Generate schema/mqtt/*.schema.json (MQTT payloads), schema/api/*.schema.json (the zone
config) and schema/openapi.json (the device and admin APIs) from the pydantic models and the
device API's route table — the one definition.

python -m rs1tools.schemas          # write
python -m rs1tools.schemas --check  # exit 1 if schema/ is stale (a test runs this)
"""

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from pydantic import BaseModel
from rs1contract import payloads
from rs1contract.ota import CancelOrder, InstallOffer, StatusReport

from rs1 import __version__
from rs1.apps.device_api import build_router
from rs1.http.openapi import document
from rs1.mqtt.webhook_models import ClientEvent, PublishEnvelope
from rs1.zones.model import ZoneConfig
from rs1tools.cli import run
from rs1tools.devvars import ROOT

OUT = ROOT / "schema" / "mqtt"
API_OUT = ROOT / "schema" / "api"
MODELS: dict[str, type[BaseModel]] = {
    "state": payloads.StatePayload,
    "telemetry-targets": payloads.TargetsTelemetry,
    "telemetry-presence": payloads.PresenceTelemetry,
    "telemetry-health": payloads.HealthTelemetry,
    "telemetry-diag": payloads.DiagTelemetry,
    "config-status": payloads.ConfigStatus,
    "diag-request": payloads.DiagRequest,
    "ota-trigger-install": InstallOffer,
    "ota-trigger-cancel": CancelOrder,
    "ota-status": StatusReport,
    "emqx-publish-envelope": PublishEnvelope,
    "emqx-client-event": ClientEvent,
}
API_MODELS: dict[str, type[BaseModel]] = {"zone-config": ZoneConfig}
OPENAPI = ROOT / "schema" / "openapi.json"
DESCRIPTION = (
    "rs1-device-api: the zone editor's device API (/api/*, a user's own devices) and the ops "
    "admin API (/admin/*). Errors are JSON {error, message, request_id, timestamp}; /api/* is "
    "rate-limited per client IP (429 with Retry-After)."
)


def _render(folder: Path, models: dict[str, type[BaseModel]]) -> dict[Path, str]:
    return {
        folder / f"{name}.schema.json": json.dumps(model.model_json_schema(), indent=2) + "\n"
        for name, model in sorted(models.items())
    }


def openapi_text() -> str:
    doc = document(build_router(), "RS-1 Cloud device API", __version__, DESCRIPTION)
    return json.dumps(doc, indent=2) + "\n"


def rendered() -> dict[Path, str]:
    return {**_render(OUT, MODELS), **_render(API_OUT, API_MODELS), OPENAPI: openapi_text()}


app = typer.Typer(add_completion=False)


@app.command()
def write(
    check: Annotated[bool, typer.Option("--check", help="fail if any file is stale")] = False,
) -> None:
    """Write the JSON Schemas and schema/openapi.json (or, with --check, fail if stale)."""
    files = rendered()
    if check:
        stale = [p for p, text in files.items() if not p.exists() or p.read_text() != text]
        extra = (set(OUT.glob("*.json")) | set(API_OUT.glob("*.json"))) - set(files)
        for path in [*stale, *extra]:
            print(f"stale: {path.relative_to(ROOT)}", file=sys.stderr)
        raise typer.Exit(1 if stale or extra else 0)
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    print(f"wrote {len(files)} schemas under {OUT.parent.relative_to(ROOT)}")


def main(argv: list[str] | None = None) -> int:
    return run(app, argv, "rs1tools.schemas")


if __name__ == "__main__":
    sys.exit(main())
