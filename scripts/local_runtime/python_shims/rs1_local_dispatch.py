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


# -- Durable Objects (scripts/local_runtime/durable_objects.mjs owns ids and instances) -----


def durable_object(module: str, class_name: str, state: Any, env: Any) -> Any:
    """Construct an object as workerd does: cls(state, env); the SDK wraps both."""
    return getattr(importlib.import_module(module), class_name)(state, env)


async def durable_object_fetch(instance: Any, js_request: Any) -> Any:
    response = await instance.fetch(Request(js_request))
    return getattr(response, "js_object", response)


async def durable_object_call(instance: Any, method: str, *args: Any) -> None:
    """A hibernation-API event (webSocketMessage/Close/Error) with workerd's raw arguments."""
    handler = getattr(instance, method, None)
    if handler is not None:
        await handler(*args)
