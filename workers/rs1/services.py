"""What a handler gets besides the request: storage ports, settings, clock, outbound HTTP."""

import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from rs1.ports import LiveTargets
from rs1.settings import Settings, SettingsError
from rs1.storage.blobs import Blobs, R2Blobs
from rs1.storage.database import Database
from rs1.storage.kv import KeyValue, KvStore
from rs1.storage.queue import MessageQueue
from rs1.storage.shards import Shards

KV_BINDINGS = ("SESSIONS", "RS1_RATE_LIMITS", "RS1_CACHE")
R2_BINDINGS = ("R2", "FIRMWARE", "ARCHIVES", "BACKUPS")
TELEMETRY_DB_PREFIX = "TELEMETRY_DB_"  # + i: telemetry shard i ≥ 1 (shard 0 is DB)


def telemetry_binding(shard: int) -> str:
    return f"{TELEMETRY_DB_PREFIX}{shard}"


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
    # Queue producers by binding name (rs1.platform.queues); unit tests use MemoryQueue.
    queues: dict[str, MessageQueue] = field(default_factory=dict)
    # Telemetry's shards after shard 0 (which is `db`) that this Worker binds: {i: TELEMETRY_DB_i}.
    telemetry_dbs: dict[int, Database] = field(default_factory=dict)

    @property
    def telemetry_shards(self) -> Shards:
        """Telemetry's databases, settings.telemetry_shards of them: `db`, then each
        TELEMETRY_DB_i. Checked on use (rs1-ota, which stores no telemetry, binds none): a
        shard that is not bound is a SettingsError, never a fallback to fewer shards."""
        count = self.settings.telemetry_shards
        missing = [telemetry_binding(i) for i in range(1, count) if i not in self.telemetry_dbs]
        if missing:
            shown = ", ".join(missing[:5]) + (
                f" and {len(missing) - 5} more" if missing[5:] else ""
            )
            raise SettingsError(
                f"TELEMETRY_SHARDS is {count} but this Worker has no D1 binding {shown}."
            )
        return Shards([self.db, *(self.telemetry_dbs[i] for i in range(1, count))])


def services_from_env(
    env: Any,
    http: HttpClient | None,
    defer: Callable[[Awaitable[Any]], None],
    database: Callable[[Any], Database],
) -> Services:
    """Wrap whichever bindings this Worker's wrangler config declares."""
    kv: dict[str, KeyValue] = {
        n: KvStore(b) for n in KV_BINDINGS if (b := getattr(env, n, None)) is not None
    }
    blobs: dict[str, Blobs] = {
        n: R2Blobs(b) for n in R2_BINDINGS if (b := getattr(env, n, None)) is not None
    }
    settings = Settings.from_env(env)
    telemetry_dbs: dict[int, Database] = {
        i: database(b)
        for i in range(1, settings.telemetry_shards)
        if (b := getattr(env, telemetry_binding(i), None)) is not None
    }
    return Services(
        settings=settings,
        db=database(env.DB),
        kv=kv,
        blobs=blobs,
        http=http,
        defer=defer,
        telemetry_dbs=telemetry_dbs,
    )
