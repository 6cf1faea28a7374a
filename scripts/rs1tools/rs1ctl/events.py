"""`rs1ctl events`: outbound event endpoints (webhooks), the event log, deliveries and
redelivery."""

from collections.abc import Callable
from typing import Annotated, Any

import typer

from rs1tools.rs1ctl import output
from rs1tools.rs1ctl.client import Api
from rs1tools.rs1ctl.state import JsonOpt, ctl

app = typer.Typer(
    help="Outbound events: endpoints, the event log, deliveries.", no_args_is_help=True
)
endpoints = typer.Typer(
    help="Where events are POSTed (signed with the endpoint's secret).", no_args_is_help=True
)
app.add_typer(endpoints, name="endpoints")

ENDPOINTS = "/admin/events/endpoints"
ENDPOINT_COLUMNS = ["endpoint_id", "url", "event_types", "enabled", "description", "created_at"]
EVENT_COLUMNS = ["id", "type", "created_at", "data"]
DELIVERY_COLUMNS = [
    "delivery_id",
    "event_id",
    "endpoint_id",
    "event_type",
    "status",
    "attempts",
    "last_status",
    "last_error",
    "next_attempt_at",
    "delivered_at",
]
EndpointId = Annotated[str, typer.Argument(help="The endpoint's id")]
Limit = Annotated[int | None, typer.Option(min=1, help="Page size")]
Cursor = Annotated[str | None, typer.Option(help="next_cursor of the previous page")]


def add_endpoint(
    api: Api, url: str, event_types: list[str], description: str | None
) -> dict[str, Any]:
    body: dict[str, Any] = {"url": url, "event_types": event_types}
    if description is not None:
        body["description"] = description
    return api.post(ENDPOINTS, body)


def _page(key: str, columns: list[str]) -> Callable[[dict[str, Any]], None]:
    def show(page: dict[str, Any]) -> None:
        output.table(page[key], columns, key)
        if page.get("next_cursor"):
            output.note(f"more: --cursor {page['next_cursor']}")

    return show


@endpoints.command("add")
def add_cmd(
    ctx: typer.Context,
    url: Annotated[str, typer.Argument(help="https URL that receives the events")],
    event_type: Annotated[
        list[str], typer.Option("--type", help="Event type to send (repeat), e.g. device.online")
    ],
    description: Annotated[str | None, typer.Option(help="What it is for")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Add an endpoint; prints its signing secret once."""
    c = ctl(ctx)
    created = add_endpoint(c.api(), url, event_type, description)
    if not c.json:
        output.warn("the signing secret is shown once: store it now")
    output.emit(c, created, output.fields)


@endpoints.command("list")
def endpoints_cmd(ctx: typer.Context, json_out: JsonOpt = False) -> None:
    """Every endpoint (never the secrets)."""
    c = ctl(ctx)
    answer = c.api().get(ENDPOINTS)
    output.emit(c, answer, lambda a: output.table(a["endpoints"], ENDPOINT_COLUMNS, "endpoints"))


def _enabled(ctx: typer.Context, endpoint_id: str, enabled: bool) -> None:
    c = ctl(ctx)
    answer = c.api().patch(f"{ENDPOINTS}/{endpoint_id}", {"enabled": enabled})
    output.emit(c, answer, output.fields)


@endpoints.command("enable")
def enable_cmd(ctx: typer.Context, endpoint_id: EndpointId, json_out: JsonOpt = False) -> None:
    """Send events to it again."""
    _enabled(ctx, endpoint_id, True)


@endpoints.command("disable")
def disable_cmd(ctx: typer.Context, endpoint_id: EndpointId, json_out: JsonOpt = False) -> None:
    """Stop sending events to it (kept, with its secret)."""
    _enabled(ctx, endpoint_id, False)


@endpoints.command("remove")
def remove_cmd(ctx: typer.Context, endpoint_id: EndpointId, json_out: JsonOpt = False) -> None:
    """Delete an endpoint."""
    c = ctl(ctx)
    c.api().delete(f"{ENDPOINTS}/{endpoint_id}")
    answer = {"endpoint_id": endpoint_id, "removed": True}
    output.emit(c, answer, lambda a: output.out.print(f"removed {endpoint_id}"))


@app.command("list")
def list_cmd(
    ctx: typer.Context,
    event_type: Annotated[str | None, typer.Option("--type", help="Only this type")] = None,
    since: Annotated[str | None, typer.Option(help="ISO time, inclusive")] = None,
    limit: Limit = None,
    cursor: Cursor = None,
    json_out: JsonOpt = False,
) -> None:
    """The event log, newest first."""
    c = ctl(ctx)
    query = {"type": event_type, "since": since, "limit": limit, "cursor": cursor}
    page = c.api().get("/admin/events", query)
    output.emit(c, page, _page("events", EVENT_COLUMNS))


@app.command("deliveries")
def deliveries_cmd(
    ctx: typer.Context,
    event_id: Annotated[str | None, typer.Option(help="One event's deliveries")] = None,
    endpoint_id: Annotated[str | None, typer.Option(help="One endpoint's deliveries")] = None,
    status: Annotated[str | None, typer.Option(help="e.g. pending, delivered, failed")] = None,
    limit: Limit = None,
    cursor: Cursor = None,
    json_out: JsonOpt = False,
) -> None:
    """Delivery attempts and their outcome."""
    c = ctl(ctx)
    query = {
        "event_id": event_id,
        "endpoint_id": endpoint_id,
        "status": status,
        "limit": limit,
        "cursor": cursor,
    }
    page = c.api().get("/admin/events/deliveries", query)
    output.emit(c, page, _page("deliveries", DELIVERY_COLUMNS))


@app.command("redeliver")
def redeliver_cmd(
    ctx: typer.Context,
    event_id: Annotated[str, typer.Argument(help="The event's id")],
    json_out: JsonOpt = False,
) -> None:
    """Send an event again to every endpoint subscribed to its type."""
    c = ctl(ctx)
    answer = c.api().post(f"/admin/events/{event_id}/redeliver")
    output.emit(c, answer, output.fields)
