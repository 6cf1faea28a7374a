"""What a handler gets besides the request: storage ports, settings, clock, outbound HTTP."""

import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from rs1.ports import LiveTargets
from rs1.settings import Settings
from rs1.storage.blobs import Blobs, R2Blobs
from rs1.storage.d1 import D1Database
from rs1.storage.database import Database
from rs1.storage.kv import KeyValue, KvStore

KV_BINDINGS = ("SESSIONS", "RS1_RATE_LIMITS", "RS1_CACHE")
R2_BINDINGS = ("R2", "FIRMWARE", "ARCHIVES", "BACKUPS")


@dataclass(frozen=True)
class HttpResult:
    status: int
    body: bytes


class HttpClient(Protocol):
    async def request(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes | None = None
    ) -> HttpResult: ...


def _ignore(awaitable: Awaitable[Any]) -> None:
    """No runtime to finish deferred work (unit tests): drop it without a never-awaited warning."""
    close = getattr(awaitable, "close", None)
    if close is not None:
        close()


@dataclass
class Services:
    settings: Settings
    db: Database
    kv: dict[str, KeyValue] = field(default_factory=dict)
    blobs: dict[str, Blobs] = field(default_factory=dict)
    http: HttpClient | None = None
    clock: Callable[[], float] = time.time
    # ctx.waitUntil: work that may finish after the response (logging, fan-out).
    defer: Callable[[Awaitable[Any]], None] = _ignore
    # The devices' live-targets Durable Objects (binding LIVE_TARGETS); None where unbound.
    live: LiveTargets | None = None


def services_from_env(
    env: Any, http: HttpClient | None, defer: Callable[[Awaitable[Any]], None]
) -> Services:
    """Wrap whichever bindings this Worker's wrangler config declares."""
    kv: dict[str, KeyValue] = {
        n: KvStore(b) for n in KV_BINDINGS if (b := getattr(env, n, None)) is not None
    }
    blobs: dict[str, Blobs] = {
        n: R2Blobs(b) for n in R2_BINDINGS if (b := getattr(env, n, None)) is not None
    }
    return Services(
        settings=Settings.from_env(env),
        db=D1Database(env.DB),
        kv=kv,
        blobs=blobs,
        http=http,
        defer=defer,
    )
