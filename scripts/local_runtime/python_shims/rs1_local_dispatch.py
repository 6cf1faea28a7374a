"""Calls the Workers' `Default` entrypoints the way workerd does (local runtime only)."""

import importlib
from typing import Any

from workers import Request

_entrypoints: dict[str, type] = {}


def load(module: str) -> None:
    _entrypoints[module] = importlib.import_module(module).Default


async def fetch(module: str, js_request: Any, env: Any, ctx: Any) -> Any:
    worker = _entrypoints[module](ctx, env)
    response = await worker.fetch(Request(js_request))
    return getattr(response, "js_object", response)


async def scheduled(module: str, controller: Any, env: Any, ctx: Any) -> None:
    worker = _entrypoints[module](ctx, env)
    await worker.scheduled(controller, worker.env, ctx)
