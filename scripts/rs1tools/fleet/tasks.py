"""Small asyncio helpers."""

import asyncio
import contextlib
from collections.abc import Coroutine, Iterable
from typing import Any

CANCEL_RETRY_S = 0.2


async def cancel_all(tasks: Iterable[asyncio.Task[Any]]) -> None:
    """Cancel until every task is done. Python 3.11's wait_for can swallow a cancellation
    that races a completion (aiomqtt awaits PUBACKs with it), so one cancel() may not do."""
    tasks = list(tasks)
    pending = {t for t in tasks if not t.done()}
    while pending:
        for task in pending:
            task.cancel()
        _, pending = await asyncio.wait(pending, timeout=CANCEL_RETRY_S)
    for task in tasks:  # mark errors retrieved: the session already ended for its own reason
        if not task.cancelled():
            task.exception()


async def first_completed(*coroutines: Coroutine[Any, Any, Any]) -> None:
    """Run concurrently until the first finishes; cancel the rest; re-raise its error.

    A device session is several loops (inbound, telemetry, faults, stop) where any one
    ending ends the session.
    """
    tasks = [asyncio.ensure_future(c) for c in coroutines]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        await cancel_all(tasks)
    for task in done:
        if not task.cancelled() and (error := task.exception()) is not None:
            raise error


async def pause(stop: asyncio.Event, seconds: float) -> bool:
    """Sleep unless stopped first; False when the stop event is set."""
    if seconds > 0 and not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), seconds)
    return not stop.is_set()
