"""`rs1ctl rollouts`: staged OTA rollouts — create, list, show, pause, resume, advance, abort,
and watch (a live view until the rollout completes or aborts)."""

import time
from collections.abc import Callable
from typing import Annotated, Any

import typer

from rs1tools.rs1ctl import output
from rs1tools.rs1ctl.client import Api
from rs1tools.rs1ctl.exits import CtlError, Exit
from rs1tools.rs1ctl.rollout_view import ENDED, EtaTracker, Rollout, render
from rs1tools.rs1ctl.state import JsonOpt, ctl

app = typer.Typer(help="Staged OTA rollouts.", no_args_is_help=True)
RolloutId = Annotated[str, typer.Argument(help="The rollout's id")]
COLUMNS = [
    "rollout_id",
    "model",
    ("firmware_version", "version"),
    "status",
    "current_stage",
    "failures",
    "finished",
    "created_at",
]


def stages(percents: list[float], min_devices: int | None, soak_minutes: float | None) -> list:
    extra = {"min_devices": min_devices, "soak_minutes": soak_minutes}
    extra = {k: v for k, v in extra.items() if v is not None}
    return [{"percent": p, **extra} for p in percents]


def policy(
    *,
    rate: int | None = None,
    ramp_base: int | None = None,
    ramp_factor: float = 2.0,
    ramp_after: int = 10,
    jitter_s: int = 0,
    window: str | None = None,
    install: str = "immediate",
    start_at: str | None = None,
    device_soak_minutes: float | None = None,
    rollback: bool = False,
    hold_inconclusive: bool = False,
) -> dict[str, Any]:
    """The rollout `policy` body (README "Rollout policy"); the API validates it."""
    body: dict[str, Any] = {"jitter_s": jitter_s, "install": install, "rollback": rollback}
    if rate is not None:
        limit: dict[str, Any] = {"max_per_minute": rate}
        if ramp_base is not None:
            limit["ramp"] = {"base_per_minute": ramp_base, "factor": ramp_factor,
                             "after_successes": ramp_after}  # fmt: skip
        body["rate"] = limit
    if window:
        start, _, end = window.partition("-")
        body["window"] = {"start": start, "end": end}
    if start_at:
        body["start_at"] = start_at
    if device_soak_minutes is not None:
        body["health"] = {"soak_minutes": device_soak_minutes}
    if hold_inconclusive:
        body["on_inconclusive"] = "hold"
    return body


def create(api: Api, body: dict[str, Any]) -> Rollout:
    """POST /admin/rollouts (RolloutBody: firmware_version, model, stages, ...)."""
    return api.post("/admin/rollouts", body)


def get(api: Api, rollout_id: str) -> Rollout:
    return api.get(f"/admin/rollouts/{rollout_id}")


def act(api: Api, rollout_id: str, action: str, from_stage: int | None = None) -> Rollout:
    """abort, pause, resume or advance (from_stage: refused with 409 if it moved on)."""
    params = {"from_stage": from_stage} if action == "advance" else None
    return api.post(f"/admin/rollouts/{rollout_id}/{action}", params=params)


def watch(
    api: Api,
    rollout_id: str,
    on_poll: Callable[[Rollout, float | None], None],
    interval_s: float = 2.0,
    timeout_s: float | None = None,
) -> Rollout:
    """Poll until the rollout ends (its last state); CtlError (exit 9) at the timeout."""
    tracker, started = EtaTracker(), time.monotonic()
    while True:
        rollout = get(api, rollout_id)
        on_poll(rollout, tracker.eta(rollout, time.monotonic()))
        if rollout["status"] in ENDED:
            return rollout
        if timeout_s is not None and time.monotonic() - started + interval_s > timeout_s:
            message = f"Rollout {rollout_id} is still {rollout['status']} after {timeout_s:g} s."
            raise CtlError(Exit.TIMEOUT, "timeout", message)
        time.sleep(interval_s)


def show_rollout(r: Rollout) -> None:
    output.out.print(render(r))


@app.command("create")
def create_cmd(
    ctx: typer.Context,
    version: Annotated[str, typer.Argument(help="Firmware version (uploaded)")],
    model: Annotated[str, typer.Option(help="Hardware model")] = "RS-1",
    stage: Annotated[
        list[float] | None, typer.Option(help="Stage percent, in order (repeat: 10 50 100)")
    ] = None,
    min_devices: Annotated[int | None, typer.Option(min=0, help="Per stage")] = None,
    soak_minutes: Annotated[float | None, typer.Option(min=0, help="Per stage")] = None,
    threshold: Annotated[float, typer.Option(help="Failure-rate abort line")] = 0.02,
    timeout_minutes: Annotated[float, typer.Option(help="Per-device install timeout")] = 60,
    allow_downgrade: Annotated[bool, typer.Option(help="Offer it to newer devices")] = False,
    device: Annotated[
        list[str] | None, typer.Option(help="Device always in the cohort (repeat)")
    ] = None,
    cohort: Annotated[
        str | None, typer.Option(help="Cohort query, e.g. 'version < 1.2.0 and tag:site = berlin'")
    ] = None,
    rate: Annotated[int | None, typer.Option(min=1, help="Max triggers per minute")] = None,
    ramp_base: Annotated[
        int | None, typer.Option(min=1, help="Ramp: start at this many per minute")
    ] = None,
    ramp_factor: Annotated[float, typer.Option(help="Ramp: multiply the rate by this")] = 2.0,
    ramp_after: Annotated[int, typer.Option(min=1, help="Ramp: after this many successes")] = 10,
    jitter: Annotated[int, typer.Option(min=0, help="Devices wait 0..N s before downloading")] = 0,
    window: Annotated[
        str | None, typer.Option(help="Daily window in device local time, HH:MM-HH:MM")
    ] = None,
    install: Annotated[
        str, typer.Option(help="immediate, or window: download now, install in the window")
    ] = "immediate",
    start_at: Annotated[
        str | None, typer.Option(help="Start time, ISO 8601 with zone (2026-12-01T02:00:00Z)")
    ] = None,
    device_soak: Annotated[
        float | None, typer.Option(min=0, help="Health soak after each install, minutes")
    ] = None,
    rollback: Annotated[
        bool, typer.Option(help="On abort, offer the previous version back")
    ] = False,
    hold_inconclusive: Annotated[
        bool, typer.Option(help="Hold an inconclusive stage instead of extending it")
    ] = False,
    json_out: JsonOpt = False,
) -> None:
    """Start a staged rollout."""
    c = ctl(ctx)
    body: dict[str, Any] = {
        "firmware_version": version,
        "model": model,
        "failure_threshold": threshold,
        "timeout_minutes": timeout_minutes,
        "allow_downgrade": allow_downgrade,
        "device_ids": device or [],
        "cohort": cohort,
        "policy": policy(
            rate=rate, ramp_base=ramp_base, ramp_factor=ramp_factor, ramp_after=ramp_after,
            jitter_s=jitter, window=window, install=install, start_at=start_at,
            device_soak_minutes=device_soak, rollback=rollback,
            hold_inconclusive=hold_inconclusive,
        ),
    }  # fmt: skip
    if stage:
        body["stages"] = stages(stage, min_devices, soak_minutes)
    output.emit(c, create(c.api(), body), show_rollout)


@app.command("list")
def list_cmd(ctx: typer.Context, json_out: JsonOpt = False) -> None:
    """Rollouts, newest first."""
    c = ctl(ctx)
    answer = c.api().get("/admin/rollouts")
    output.emit(c, answer, lambda a: output.table(a["rollouts"], COLUMNS, "rollouts"))


@app.command("show")
def show_cmd(ctx: typer.Context, rollout_id: RolloutId, json_out: JsonOpt = False) -> None:
    """One rollout: stages, counts, the failure rate's Wilson interval."""
    c = ctl(ctx)
    output.emit(c, get(c.api(), rollout_id), show_rollout)


def _action(
    ctx: typer.Context, rollout_id: str, action: str, from_stage: int | None = None
) -> None:
    c = ctl(ctx)
    output.emit(c, act(c.api(), rollout_id, action, from_stage), show_rollout)


@app.command("pause")
def pause_cmd(ctx: typer.Context, rollout_id: RolloutId, json_out: JsonOpt = False) -> None:
    """Stop triggering devices (in-flight installs finish)."""
    _action(ctx, rollout_id, "pause")


@app.command("resume")
def resume_cmd(ctx: typer.Context, rollout_id: RolloutId, json_out: JsonOpt = False) -> None:
    """Resume a paused rollout."""
    _action(ctx, rollout_id, "resume")


@app.command("abort")
def abort_cmd(ctx: typer.Context, rollout_id: RolloutId, json_out: JsonOpt = False) -> None:
    """Abort: cancel every device not installing yet."""
    _action(ctx, rollout_id, "abort")


@app.command("advance")
def advance_cmd(
    ctx: typer.Context,
    rollout_id: RolloutId,
    from_stage: Annotated[
        int | None, typer.Option(help="Only if still at this stage (0-based; else exit 5)")
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Move to the next stage now (never past a failing stage)."""
    _action(ctx, rollout_id, "advance", from_stage)


@app.command("watch")
def watch_cmd(
    ctx: typer.Context,
    rollout_id: RolloutId,
    interval: Annotated[float, typer.Option(min=0.1, help="Seconds between polls")] = 2.0,
    timeout: Annotated[float | None, typer.Option(min=0, help="Give up after (exit 9)")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Live view until the rollout ends: exit 0 completed, 1 aborted, 9 at --timeout.
    With --json, one JSON line per poll (the rollout plus eta_s)."""
    c = ctl(ctx)
    if c.json:
        final = watch(
            c.api(),
            rollout_id,
            lambda r, eta: output.json_line({**r, "eta_s": eta}),
            interval,
            timeout,
        )
    else:
        with output.live() as live:
            final = watch(
                c.api(), rollout_id, lambda r, eta: live.update(render(r, eta)), interval, timeout
            )
    if final["status"] != "completed":
        raise typer.Exit(Exit.FAILURE)
