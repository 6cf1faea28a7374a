"""Calls the Workers' `Default` entrypoints the way workerd does (local runtime only)."""

import asyncio
import gc
import importlib
from typing import Any

from rs1_local_invocation import invocation_wait_until
from workers import Request, python_from_rpc

_entrypoints: dict[str, type] = {}


def load(module: str) -> None:
    _entrypoints[module] = importlib.import_module(module).Default
    # Imported modules live for the isolate's lifetime: move them out of the GC's reach, as
    # production's deploy-time snapshot effectively does, so collections stay short.
    gc.collect()
    gc.freeze()


def handles(module: str, event: str) -> bool:
    """Whether the module's Default entrypoint has a handler for `event` (e.g. "queue")."""
    return callable(getattr(_entrypoints[module], event, None))


async def fetch(module: str, js_request: Any, env: Any, ctx: Any) -> Any:
    worker = _entrypoints[module](ctx, env)
    response = await worker.fetch(Request(js_request))
    return getattr(response, "js_object", response)


async def scheduled(module: str, controller: Any, env: Any, ctx: Any) -> None:
    worker = _entrypoints[module](ctx, env)
    await worker.scheduled(controller, worker.env, ctx)


async def queue(module: str, js_batch: Any, env: Any, ctx: Any) -> None:
    """A queue batch, as workerd delivers one to a Default entrypoint: `Default(ctx, env)`, then
    `queue(batch, env, ctx)` through introspection.wrapper_func: each argument through
    python_from_rpc, and a strict call (not a relaxed one). The SDK's wrapper hands the handler
    `_BindingWrapper(batch), env, ctx`, so a `queue(self, batch)` fails with a TypeError
    ("takes 2 positional arguments but 4 were given"), as it did on workerd 1.20260820.1.
    As on workerd (queue_consumer_no_wait_for_wait_until off), the batch's outcome waits for
    the invocation's waitUntil work, and the batch failed if the handler or any of that work
    raised: then this raises (the handler's error first).
    """
    worker = _entrypoints[module](ctx, env)
    handler = getattr(worker, "queue", None)
    if not callable(handler):
        raise TypeError("Handler does not export a queue() function.")
    pending: list[asyncio.Future[Any]] = []
    token = invocation_wait_until.set(pending)
    try:
        await handler(*[python_from_rpc(arg) for arg in (js_batch, env, ctx)])
    finally:  # a handler's error propagates only after the waitUntil work, as on workerd
        invocation_wait_until.reset(token)
        failures = await _settle(pending)
    if failures:
        raise failures[0]


async def _settle(pending: list[asyncio.Future[Any]]) -> list[BaseException]:
    """Wait for every future in `pending`, including those added meanwhile; their errors."""
    failures: list[BaseException] = []
    done = 0
    while done < len(pending):
        batch = pending[done:]
        done = len(pending)
        results = await asyncio.gather(*batch, return_exceptions=True)
        failures += [r for r in results if isinstance(r, BaseException)]
    return failures


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
