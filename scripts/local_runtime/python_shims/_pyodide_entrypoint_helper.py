"""Stand-in for workerd's `_pyodide_entrypoint_helper` (local runtime only).

The SDK calls patchWaitUntil(ctx) in every entrypoint's __init__: afterwards
ctx.waitUntil must accept Python coroutines, as it does on Cloudflare.

One proxy serves every request: a proxy per request (or per awaitable) is never freed and
slows the whole runtime down as the hiwire table and the GC's heap grow. An invocation that
must wait for its waitUntil work (a queue batch: rs1_local_dispatch.queue) sets
`invocation_wait_until` to a list, and the work its code hands to waitUntil lands there too.
"""

import asyncio
import inspect
from typing import Any

from pyodide.ffi import JsProxy, create_proxy
from rs1_local_invocation import invocation_wait_until

cloudflareWorkersModule: Any = None
cloudflareSocketsModule: Any = None

_background: set[asyncio.Future[Any]] = set()


def doAnImport(module_name: str) -> Any:
    raise ImportError(f"{module_name} is not available in the local runtime")


def patch_env_helper(kwds: Any):
    yield


def _wait_until(awaitable: Any) -> None:
    """Run work after the response, as ctx.waitUntil does (errors are logged, not raised)."""
    tracked = invocation_wait_until.get()
    if isinstance(awaitable, JsProxy) or not inspect.isawaitable(awaitable):
        # A JS promise runs by itself; an invocation that waits for its work awaits it too.
        if tracked is not None and isinstance(awaitable, JsProxy) and hasattr(awaitable, "then"):
            tracked.append(asyncio.ensure_future(awaitable))
        return
    future = asyncio.ensure_future(awaitable)
    _background.add(future)
    future.add_done_callback(_background.discard)
    if tracked is not None:
        tracked.append(future)


_WAIT_UNTIL = create_proxy(_wait_until)


def patchWaitUntil(ctx: Any) -> None:
    ctx.waitUntil = _WAIT_UNTIL
