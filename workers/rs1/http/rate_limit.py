"""Per-client-IP request limits on /api/* (spec: 100 per minute), counted in KV
RS1_RATE_LIMITS in one-minute windows.

Workers KV takes at most one write per second to a key, so the counter is not written per
request: each isolate counts in memory and syncs a key with KV at most once per SYNC_S
(read the shared count, add what it counted since, write back). Within an isolate the count is
exact; across isolates and locations it is approximate (KV is eventually consistent) — a guard
against abuse, not an exact quota. A KV failure lets the request through (logged): the limiter
must not take the API down with it.
"""

import math
from dataclasses import dataclass

from rs1.http.errors import ApiError
from rs1.logs import log_event
from rs1.messages import ApiRequest
from rs1.security_log import RATE_LIMIT_EXCEEDED, record_security_event
from rs1.services import Services
from rs1.storage.database import StorageError
from rs1.storage.kv import KeyValue

WINDOW_S = 60
SYNC_S = 1.0


@dataclass
class _Window:
    known: int = 0  # the shared count as last read from / written to KV
    pending: int = 0  # this isolate's requests since then
    synced_at: float | None = None
    logged: bool = False  # rate_limit_exceeded written for this key (once per window)


class WindowCounters:
    """This isolate's counts per KV key, synced with KV at most once per SYNC_S per key."""

    def __init__(self) -> None:
        self._windows: dict[str, _Window] = {}
        self._window = -1  # the newest window seen; older ones are dropped when it moves

    async def hit(self, kv: KeyValue, key: str, now: float) -> int:
        self._prune(int(now // WINDOW_S))
        w = self._windows.setdefault(key, _Window())
        w.pending += 1
        count = w.known + w.pending
        if w.synced_at is None or now - w.synced_at >= SYNC_S:
            count += await self._sync(kv, key, w, now)
        return count

    def first_over(self, key: str) -> bool:
        """True once per key: the first request over the limit (to log it)."""
        w = self._windows[key]
        first, w.logged = not w.logged, True
        return first

    async def _sync(self, kv: KeyValue, key: str, w: _Window, now: float) -> int:
        """Add this isolate's pending count to KV's; returns what other isolates added."""
        w.synced_at = now  # also on failure: retry after SYNC_S, not on every request
        sent, known = w.pending, w.known  # requests counted during the KV calls stay pending
        try:
            shared = int(await kv.get(key) or 0)
            total = max(shared, known) + sent
            await kv.put(key, str(total), ttl=WINDOW_S * 2)
        except (StorageError, ValueError) as exc:
            log_event("warning", "rate_limit_kv_failed", key=key, exception=repr(exc))
            return 0
        w.known, w.pending = total, w.pending - sent
        return total - known - sent

    def _prune(self, window: int) -> None:
        """Drop the counts of ended windows (keys end in their window number)."""
        if window == self._window:
            return
        self._window = window
        stale = [k for k in self._windows if int(k.rsplit(":", 1)[1]) < window]
        for key in stale:
            del self._windows[key]


def retry_after(now: float, reset: int) -> int:
    """Whole seconds until the window resets, rounded up: a client that waits exactly this
    long is in the next window (rounding down answered it with another 429)."""
    return max(1, math.ceil(reset - now))


class RateLimit:
    def __init__(self, prefix: str = "/api/") -> None:
        self.prefix = prefix
        self.counters = WindowCounters()  # lives as long as the isolate's app

    async def __call__(self, request: ApiRequest, svc: Services) -> None:
        if not request.path.startswith(self.prefix) or request.method == "OPTIONS":
            return None
        limit = svc.settings.api_rate_limit
        now = svc.clock()
        window = int(now // WINDOW_S)
        ip = request.client_ip or "unknown"
        key = f"api-rate:{ip}:{window}"
        count = await self.counters.hit(svc.kv["RS1_RATE_LIMITS"], key, now)
        reset = (window + 1) * WINDOW_S
        request.response_headers.update(
            {
                "x-ratelimit-limit": str(limit),
                "x-ratelimit-remaining": str(max(0, limit - count)),
                "x-ratelimit-reset": str(reset),
            }
        )
        if count > limit:
            if self.counters.first_over(key):  # log once per client and window (per isolate)
                details = {"limit": limit, "window_s": WINDOW_S, "path": request.path}
                await record_security_event(svc.db, RATE_LIMIT_EXCEEDED, details, ip)
            retry = str(retry_after(now, reset))
            message = f"More than {limit} requests a minute."
            raise ApiError(429, "rate_limited", message, headers={"retry-after": retry})
        return None
