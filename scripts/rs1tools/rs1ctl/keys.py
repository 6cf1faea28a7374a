"""`rs1ctl keys`: integration API keys (rs1_live_…) — create (the key is shown once), list,
revoke."""

from datetime import datetime
from typing import Annotated, Any

import typer

from rs1tools.rs1ctl import output
from rs1tools.rs1ctl.auth import Role
from rs1tools.rs1ctl.client import Api
from rs1tools.rs1ctl.state import JsonOpt, ctl

app = typer.Typer(help="Integration API keys.", no_args_is_help=True)
COLUMNS = [
    "key_id",
    "name",
    "scopes",
    "role",
    "sub",
    "created_at",
    "expires_at",
    "last_used_at",
    "uses",
    "revoked_at",
]


def create(
    api: Api,
    name: str,
    scopes: list[str],
    role: str = "admin",
    sub: str | None = None,
    expires_at: str | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {"name": name, "scopes": scopes, "role": role}
    if sub is not None:
        body["sub"] = sub
    if expires_at is not None:
        body["expires_at"] = expires_at
    return api.post("/admin/keys", body)


def _iso(value: str | None) -> str | None:
    """Checked here so a typo is a usage error, not a round trip; the API wants a zone."""
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not an ISO time (2027-01-01T00:00:00Z)") from None
    if parsed.tzinfo is None:
        raise typer.BadParameter("give a time zone, e.g. 2027-01-01T00:00:00Z")
    return value


@app.command("create")
def create_cmd(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="What the key is for")],
    scope: Annotated[list[str], typer.Option(help="e.g. devices:read (repeat)")],
    role: Annotated[Role, typer.Option(help="The key's role")] = Role.admin,
    sub: Annotated[str | None, typer.Option(help="The user it acts for (role user)")] = None,
    expires: Annotated[str | None, typer.Option(help="ISO time, e.g. 2027-01-01T00:00:00Z")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Create a key; prints it once."""
    c = ctl(ctx)
    created = create(c.api(), name, scope, role.value, sub, _iso(expires))
    if not c.json:
        output.warn("the key is shown once: store it now (it is never shown again)")
    output.emit(c, created, output.fields)


@app.command("list")
def list_cmd(ctx: typer.Context, json_out: JsonOpt = False) -> None:
    """Every key (never the keys themselves)."""
    c = ctl(ctx)
    answer = c.api().get("/admin/keys")
    output.emit(c, answer, lambda a: output.table(a["keys"], COLUMNS, "keys"))


@app.command("revoke")
def revoke_cmd(
    ctx: typer.Context,
    key_id: Annotated[str, typer.Argument(help="The key's id (16 hex characters)")],
    json_out: JsonOpt = False,
) -> None:
    """Revoke a key at once."""
    c = ctl(ctx)
    output.emit(c, c.api().delete(f"/admin/keys/{key_id}"), output.fields)
