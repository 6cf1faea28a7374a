"""`rs1ctl fleet status`: the fleet at a glance (GET /admin/fleet)."""

from typing import Any

import typer

from rs1tools.rs1ctl import output
from rs1tools.rs1ctl.client import Api
from rs1tools.rs1ctl.state import JsonOpt, ctl

app = typer.Typer(help="The fleet at a glance.", no_args_is_help=True)


def status(api: Api) -> dict[str, Any]:
    return api.get("/admin/fleet")


def show_status(fleet: dict[str, Any]) -> None:
    devices = fleet["devices"]
    ratio = devices.get("online_ratio")
    output.fields(
        {
            "devices": devices["registered"],
            "online": f"{devices['online']} ({ratio or 0:.0%})",
            "revoked": devices["revoked"],
            "open alerts": fleet["open_alerts"],
            "telemetry rows": fleet["telemetry_rows"],
            "security events": fleet["security_events"],
        },
        title="fleet",
    )
    output.table(fleet["firmware_versions"], ["version", "devices", "online"], "firmware versions")
    columns = ["rollout_id", "model", ("firmware_version", "version"), "status", "current_stage"]
    output.table(fleet["active_rollouts"], columns, "active rollouts")


@app.command("status")
def status_cmd(ctx: typer.Context, json_out: JsonOpt = False) -> None:
    """Devices online, firmware versions, live rollouts, open alerts."""
    c = ctl(ctx)
    output.emit(c, status(c.api()), show_status)
