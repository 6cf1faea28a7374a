"""Stand-in for workerd's `_pyodide_entrypoint_helper` (local runtime only).

The SDK calls patchWaitUntil(ctx) in every entrypoint's __init__: afterwards
ctx.waitUntil must accept Python coroutines, as it does on Cloudflare.
"""

import asyncio
import inspect
from typing import Any

from pyodide.ffi import JsProxy, create_proxy

cloudflareWorkersModule: Any = None
cloudflareSocketsModule: Any = None


def doAnImport(module_name: str) -> Any:
    raise ImportError(f"{module_name} is not available in the local runtime")


def patch_env_helper(kwds: Any):
    yield


def patchWaitUntil(ctx: Any) -> None:
    if getattr(ctx, "_rs1_patched", False):
        return
    js_wait_until = ctx.waitUntil

    def wait_until(awaitable: Any) -> None:
        if inspect.isawaitable(awaitable) and not isinstance(awaitable, JsProxy):
            awaitable = create_proxy(asyncio.ensure_future(awaitable))
        js_wait_until(awaitable)

    ctx.waitUntil = create_proxy(wait_until)
    ctx._rs1_patched = True
