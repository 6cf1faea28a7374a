"""`rs1ctl audit`: read the audit trail (tail, --follow) and verify its daily exports."""

import time
from typing import Annotated, Any

import typer
from rich.text import Text

from rs1tools.rs1ctl import audit_verify, output
from rs1tools.rs1ctl.client import Api
from rs1tools.rs1ctl.exits import Exit
from rs1tools.rs1ctl.state import JsonOpt, ctl

app = typer.Typer(help="The audit trail and its hash-chained exports.", no_args_is_help=True)
MAX_PAGE = 500
Record = dict[str, Any]


def tail(api: Api, filters: dict[str, str | None], limit: int) -> dict[str, Any]:
    """The newest `limit` records matching the filters (newest first, as the API pages)."""
    records: list[Record] = []
    cursor = None
    while len(records) < limit:
        query = {**filters, "limit": min(MAX_PAGE, limit - len(records)), "cursor": cursor}
        page = api.get("/admin/audit", query)
        records += page["records"]
        cursor = page["next_cursor"]
        if not cursor:
            break
    return {"records": records, "next_cursor": cursor}


def newer(api: Api, filters: dict[str, str | None], after_seq: int) -> list[Record]:
    """Records after `after_seq`, oldest first: pages back from the newest until reaching it."""
    found: list[Record] = []
    cursor = None
    while True:
        query = {**filters, "limit": MAX_PAGE, "cursor": cursor}
        page = api.get("/admin/audit", query)
        fresh = [r for r in page["records"] if r["seq"] > after_seq]
        found += fresh
        cursor = page["next_cursor"]
        if len(fresh) < len(page["records"]) or not cursor:
            return found[::-1]


def line(r: Record) -> Text:
    actor, target = r["actor"], r["target"]
    summary = output.cell(r.get("summary") or None).plain
    return Text(
        f"{r['at']}  #{r['seq']}  {actor['type']}:{actor['id']}  {r['action']}  "
        f"{target['type']}:{target['id']}  {summary}"
    )


def _print(json_lines: bool, records: list[Record]) -> None:
    for r in records:
        if json_lines:
            output.json_line(r)
        else:
            output.out.print(line(r))


def follow(
    api: Api,
    filters: dict[str, str | None],
    first: list[Record],
    json_lines: bool,
    interval_s: float,
    duration_s: float | None,
) -> None:
    """Print `first` (oldest first), then new records as they come, until duration_s or
    Ctrl-C."""
    _print(json_lines, first)
    last = max((r["seq"] for r in first), default=0)
    stop = None if duration_s is None else time.monotonic() + duration_s
    try:
        while stop is None or time.monotonic() + interval_s <= stop:
            time.sleep(interval_s)
            fresh = newer(api, filters, last)
            _print(json_lines, fresh)
            last = max([last, *(r["seq"] for r in fresh)])
    except KeyboardInterrupt:  # Ctrl-C is how a follow ends
        return


def _table(page: dict[str, Any]) -> None:
    rows = [
        {
            **r,
            "actor": f"{r['actor']['type']}:{r['actor']['id']}",
            "target": f"{r['target']['type']}:{r['target']['id']}",
        }
        for r in reversed(page["records"])
    ]
    columns = ["seq", "at", "actor", "action", "target", "request_id", "summary"]
    output.table(rows, columns, "audit records")


@app.command("tail")
def tail_cmd(
    ctx: typer.Context,
    actor: Annotated[str | None, typer.Option(help="Actor id (user or API key id)")] = None,
    target: Annotated[str | None, typer.Option(help="Target id")] = None,
    action: Annotated[str | None, typer.Option(help="e.g. zones.write")] = None,
    since: Annotated[str | None, typer.Option(help="ISO time, inclusive")] = None,
    until: Annotated[str | None, typer.Option(help="ISO time, exclusive")] = None,
    limit: Annotated[int, typer.Option(min=1, help="Newest records to show")] = 20,
    follow_: Annotated[bool, typer.Option("--follow", "-f", help="Keep polling")] = False,
    interval: Annotated[float, typer.Option(min=0.1, help="--follow: seconds")] = 2.0,
    duration: Annotated[
        float | None, typer.Option(min=0, help="--follow: stop after this many seconds")
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """The newest audit records (oldest of them first). --follow keeps printing new ones;
    with --json, as one JSON line per record."""
    c = ctl(ctx)
    filters = {"actor": actor, "target": target, "action": action, "since": since, "until": until}
    page = tail(c.api(), filters, limit)
    if follow_:
        follow(c.api(), filters, page["records"][::-1], c.json, interval, duration)
    else:
        output.emit(c, page, _table)


def _verdict(result: dict[str, Any]) -> None:
    if result["ok"]:
        output.out.print(
            f"OK: {result['days']} days ({result['first_day']} … {result['last_day']}), "
            f"{result['records']} records, last hash {result['last_hash']}"
        )
        return
    for problem in result["problems"]:
        output.err.print(Text(f"BROKEN {problem}", style="red"))


@app.command("verify")
def verify_cmd(
    ctx: typer.Context,
    since: Annotated[
        str | None, typer.Option(help="First day (YYYY-MM-DD) to check; default: all")
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Check the daily exports' hash chain against the database's anchors (exit 8 if broken)."""
    c = ctl(ctx)
    result = audit_verify.verify(c.api(), since)
    output.emit(c, result, _verdict)
    if not result["ok"]:
        raise typer.Exit(Exit.VERIFY)
