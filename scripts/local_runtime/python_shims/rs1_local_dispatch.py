"""Calls the Workers' `Default` entrypoints the way workerd does (local runtime only)."""

import gc
import importlib
from typing import Any

from workers import Request

_entrypoints: dict[str, type] = {}


def load(module: str) -> None:
    _entrypoints[module] = importlib.import_module(module).Default
    # Imported modules live for the isolate's lifetime: move them out of the GC's reach, as
    # production's deploy-time snapshot effectively does, so collections stay short.
    gc.collect()
    gc.freeze()


async def fetch(module: str, js_request: Any, env: Any, ctx: Any) -> Any:
    worker = _entrypoints[module](ctx, env)
    response = await worker.fetch(Request(js_request))
    return getattr(response, "js_object", response)


async def scheduled(module: str, controller: Any, env: Any, ctx: Any) -> None:
    worker = _entrypoints[module](ctx, env)
    await worker.scheduled(controller, worker.env, ctx)
