"""The running invocation's own state, where the local runtime needs it (local runtime only).

Context variables: asyncio tasks carry them, so concurrent invocations in one isolate keep
theirs apart.
"""

import asyncio
from contextvars import ContextVar
from typing import Any

# The waitUntil work of the running invocation, where one waits for it (a queue batch:
# rs1_local_dispatch.queue); None elsewhere.
invocation_wait_until: ContextVar[list[asyncio.Future[Any]] | None] = ContextVar(
    "invocation_wait_until", default=None
)
