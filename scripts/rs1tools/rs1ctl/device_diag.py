"""`rs1ctl devices diag`: ask a device for diagnostics (diag/request over MQTT) and wait for
its telemetry/diag answer."""

import contextlib
import time
from typing import Annotated, Any

import typer

from rs1tools.rs1ctl import output
from rs1tools.rs1ctl.client import Api
from rs1tools.rs1ctl.exits import CtlError, Exit
from rs1tools.rs1ctl.state import JsonOpt, ctl


def request_diag(api: Api, device_id: str, kind: str | None = None) -> dict[str, Any]:
    """POST /admin/devices/{id}/diag → 202 {"request_id", "delivered"}."""
    return api.post(f"/admin/devices/{device_id}/diag", {"kind": kind} if kind else None)


def diag_answer(api: Api, device_id: str, request_id: str) -> dict[str, Any]:
    return api.get(f"/admin/devices/{device_id}/diag/{request_id}")


def wait_answer(
    api: Api, device_id: str, request_id: str, timeout_s: float, interval_s: float
) -> dict[str, Any] | None:
    """The answer once the device sent it; None at the timeout."""
    deadline = time.monotonic() + timeout_s
    while True:
        answer = diag_answer(api, device_id, request_id)
        if answer["status"] == "answered":
            return answer
        if time.monotonic() + interval_s > deadline:
            return None
        time.sleep(interval_s)


def _timed_out(device_id: str, request_id: str, timeout_s: float) -> CtlError:
    message = (
        f"No answer from {device_id} within {timeout_s:g} s; wait again with "
        f"`rs1ctl devices diag {device_id} --request-id {request_id}`."
    )
    body = {
        "error": "timeout",
        "message": message,
        "request_id": None,
        "diag_request_id": request_id,
    }
    return CtlError(Exit.TIMEOUT, "timeout", message, body=body)


def _show_answer(answer: dict[str, Any]) -> None:
    output.fields({k: v for k, v in answer.items() if k != "result"})
    if answer.get("result") is not None:
        output.out.print_json(data=answer["result"])


def diag_cmd(
    ctx: typer.Context,
    device_id: Annotated[str, typer.Argument(help="32 hex characters")],
    kind: Annotated[str | None, typer.Option(help="Diagnostics kind (default basic)")] = None,
    request_id: Annotated[
        str | None, typer.Option(help="Wait for an earlier request instead of asking again")
    ] = None,
    wait: Annotated[bool, typer.Option(help="Wait for the answer")] = True,
    timeout: Annotated[float, typer.Option(min=0, help="Seconds to wait (exit 9)")] = 30,
    interval: Annotated[float, typer.Option(min=0.05, help="Seconds between polls")] = 1.0,
    json_out: JsonOpt = False,
) -> None:
    """Ask a device for diagnostics and wait for its answer (exit 9 at --timeout)."""
    c = ctl(ctx)
    if request_id is None:
        asked = request_diag(c.api(), device_id, kind)
        if not wait:
            output.emit(c, asked, output.fields)
            return
        if not c.json and not asked["delivered"]:
            output.warn("the device is not connected: it gets the request when it comes back")
        request_id = str(asked["request_id"])
    spinner = output.err.status(f"waiting for {device_id}'s answer ({request_id})")
    with contextlib.nullcontext() if c.json else spinner:
        answer = wait_answer(c.api(), device_id, request_id, timeout, interval)
    if answer is None:
        raise _timed_out(device_id, request_id, timeout)
    output.emit(c, answer, _show_answer)
