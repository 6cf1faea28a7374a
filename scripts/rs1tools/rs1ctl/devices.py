"""`rs1ctl devices`: the registry — list, search, show, tag, revoke, enable (and diag, enroll,
enroll-batch from their own modules)."""

from typing import Annotated, Any

import typer

from rs1tools.rs1ctl import device_diag, enrolment, output
from rs1tools.rs1ctl.client import Api
from rs1tools.rs1ctl.state import JsonOpt, ctl

app = typer.Typer(help="Enrol, find, tag, revoke and diagnose devices.", no_args_is_help=True)
app.command("diag")(device_diag.diag_cmd)
app.command("enroll")(enrolment.enroll_cmd)
app.command("enroll-batch")(enrolment.enroll_batch_cmd)

COLUMNS = [
    "device_id",
    "mac_address",
    "model",
    ("firmware_version", "firmware"),
    "online",
    "status",
    "last_seen",
]
FILTERS = ("version", "online", "owner")
DeviceId = Annotated[str, typer.Argument(help="32 hex characters")]


def search(
    api: Api,
    filters: dict[str, Any],
    limit: int | None = None,
    after: str | None = None,
    all_pages: bool = False,
) -> dict[str, Any]:
    """GET /admin/devices; with all_pages, follows next_after to the end."""
    devices: list[dict[str, Any]] = []
    while True:
        page = api.get("/admin/devices", {**filters, "limit": limit, "after": after})
        devices += page["devices"]
        after = page["next_after"]
        if not (all_pages and after):
            return {"devices": devices, "next_after": after}


def parse_filters(expressions: list[str]) -> dict[str, Any]:
    """version=1.2.0 online=true owner=alice → the search's query."""
    filters: dict[str, Any] = {}
    for name, value in parse_pairs(expressions).items():
        if name not in FILTERS:
            raise typer.BadParameter(f"unknown filter {name!r} (known: {', '.join(FILTERS)})")
        filters[name] = value
    return filters


def parse_pairs(pairs: list[str]) -> dict[str, str]:
    """KEY=VALUE words; the value is everything after the first '=' (it may hold more)."""
    parsed: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise typer.BadParameter(f"{pair!r} is not KEY=VALUE")
        parsed[key] = value
    return parsed


def tag_body(pairs: list[str], remove: list[str]) -> dict[str, Any]:
    return {"set": parse_pairs(pairs), "remove": list(dict.fromkeys(remove))}


def _devices_table(page: dict[str, Any]) -> None:
    output.table(page["devices"], COLUMNS, title="devices")
    if page["next_after"]:
        output.note(f"more: --after {page['next_after']} (or --all)")


@app.command("list")
def list_cmd(
    ctx: typer.Context,
    version: Annotated[str | None, typer.Option(help="Firmware version")] = None,
    online: Annotated[bool | None, typer.Option("--online/--offline", help="Presence")] = None,
    owner: Annotated[str | None, typer.Option(help="Owner's user id")] = None,
    query: Annotated[
        str | None,
        typer.Option("--query", "-q", help="Cohort query: 'version < 1.2.0 and tag:site = berlin'"),
    ] = None,
    limit: Annotated[int | None, typer.Option(min=1, max=1000, help="Page size")] = None,
    after: Annotated[str | None, typer.Option(help="next_after of the previous page")] = None,
    all_pages: Annotated[bool, typer.Option("--all", help="Every page")] = False,
    json_out: JsonOpt = False,
) -> None:
    """List the registry (one page unless --all)."""
    c = ctl(ctx)
    filters = {"version": version, "online": online, "owner": owner, "q": query}
    output.emit(c, search(c.api(), filters, limit, after, all_pages), _devices_table)


def bulk_body(
    query: str, tags: list[str], remove: list[str], revoke: bool, diag: bool, dry_run: bool
) -> dict[str, Any]:
    """POST /admin/devices/bulk: exactly one action over the devices the query matches."""
    actions = [name for name, on in (("tag", tags or remove), ("revoke", revoke),
                                     ("diag", diag)) if on]  # fmt: skip
    if len(actions) != 1:
        raise typer.BadParameter("give exactly one of KEY=VALUE/--remove, --revoke, --diag")
    body: dict[str, Any] = {"query": query, "action": actions[0], "dry_run": dry_run}
    if actions[0] == "tag":
        body["tags"] = tag_body(tags, remove)
    return body


@app.command("bulk")
def bulk_cmd(
    ctx: typer.Context,
    query: Annotated[str, typer.Argument(help="Cohort query selecting the devices")],
    tags: Annotated[list[str] | None, typer.Argument(help="KEY=VALUE tags to set")] = None,
    remove: Annotated[
        list[str] | None, typer.Option("--remove", "-r", help="Tag key to remove (repeat)")
    ] = None,
    revoke: Annotated[bool, typer.Option(help="Revoke every matching device")] = False,
    diag: Annotated[bool, typer.Option(help="Ask every matching device for a diag")] = False,
    dry_run: Annotated[bool, typer.Option(help="Only count and list what would change")] = False,
    json_out: JsonOpt = False,
) -> None:
    """Tag, revoke or diag every device a query matches:
    `rs1ctl devices bulk 'tag:site = berlin and version < 1.2.0' ring=early`."""
    c = ctl(ctx)
    body = bulk_body(query, tags or [], remove or [], revoke, diag, dry_run)
    output.emit(c, c.api().post("/admin/devices/bulk", body), output.fields)


@app.command("search")
def search_cmd(
    ctx: typer.Context,
    expressions: Annotated[
        list[str], typer.Argument(help="version=V online=true|false owner=USER", metavar="F=V")
    ],
    json_out: JsonOpt = False,
) -> None:
    """Every device matching all the filters (follows every page)."""
    c = ctl(ctx)
    output.emit(c, search(c.api(), parse_filters(expressions), all_pages=True), _devices_table)


@app.command("show")
def show_cmd(ctx: typer.Context, device_id: DeviceId, json_out: JsonOpt = False) -> None:
    """One registry record, with its tags."""
    c = ctl(ctx)
    output.emit(c, c.api().get(f"/admin/devices/{device_id}"), output.fields)


@app.command("tag")
def tag_cmd(
    ctx: typer.Context,
    device_id: DeviceId,
    pairs: Annotated[list[str] | None, typer.Argument(help="KEY=VALUE to set")] = None,
    remove: Annotated[
        list[str] | None, typer.Option("--remove", "-r", help="Key to remove (repeat)")
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Set and remove tags: `rs1ctl devices tag ID site=berlin floor=2 -r oldkey`."""
    c = ctl(ctx)
    body = tag_body(pairs or [], remove or [])
    if not body["set"] and not body["remove"]:
        raise typer.BadParameter("give KEY=VALUE pairs and/or --remove KEY")
    answer = c.api().put(f"/admin/devices/{device_id}/tags", body)
    output.emit(c, answer, lambda a: output.fields(a["tags"], title=f"tags of {device_id}"))


def _status_change(ctx: typer.Context, device_id: str, action: str) -> None:
    c = ctl(ctx)
    output.emit(c, c.api().post(f"/admin/devices/{device_id}/{action}"), output.fields)


@app.command("revoke")
def revoke_cmd(ctx: typer.Context, device_id: DeviceId, json_out: JsonOpt = False) -> None:
    """Revoke a device and end its MQTT session."""
    _status_change(ctx, device_id, "revoke")


@app.command("enable")
def enable_cmd(ctx: typer.Context, device_id: DeviceId, json_out: JsonOpt = False) -> None:
    """Enable a revoked device."""
    _status_change(ctx, device_id, "enable")
