"""`rs1ctl alerts list`: monitoring alerts (GET /admin/alerts?status=)."""

from enum import StrEnum
from typing import Annotated

import typer

from rs1tools.rs1ctl import output
from rs1tools.rs1ctl.state import JsonOpt, ctl

app = typer.Typer(help="Monitoring alerts.", no_args_is_help=True)
COLUMNS = ["alert_id", "kind", "subject", "status", "message", "opened_at", "resolved_at"]


class Status(StrEnum):
    open = "open"
    resolved = "resolved"
    all = "all"


@app.command("list")
def list_cmd(
    ctx: typer.Context,
    status: Annotated[Status, typer.Option(help="Which alerts")] = Status.open,
    json_out: JsonOpt = False,
) -> None:
    """Alerts, newest first."""
    c = ctl(ctx)
    answer = c.api().get("/admin/alerts", {"status": status.value})
    output.emit(c, answer, lambda a: output.table(a["alerts"], COLUMNS, "alerts"))
