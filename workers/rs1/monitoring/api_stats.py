"""Per-isolate request/5xx counters, flushed to D1 api_stats about every 10 seconds.

Counting in memory and flushing in the background (ctx.waitUntil) keeps a D1 write off every
request; a counter lost with an evicted isolate costs at most ~10 s of statistics.
"""

import time
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

from rs1.monitoring import store
from rs1.storage.database import Database

FLUSH_EVERY_S = 10.0


class ApiStats:
    def __init__(self, worker: str) -> None:
        self.worker = worker
        self.pending: Counter[tuple[int, str]] = Counter()
        self.last_flush = time.monotonic()

    def record(self, status: int, now: float) -> None:
        minute = int(now // 60)
        self.pending[(minute, "requests")] += 1
        if status >= 500:
            self.pending[(minute, "errors")] += 1

    def due(self) -> bool:
        return bool(self.pending) and time.monotonic() - self.last_flush >= FLUSH_EVERY_S

    def take(self) -> list[tuple[int, int, int]]:
        """(minute, requests, errors) per pending minute; the counters start over."""
        counts = [
            (m, self.pending[(m, "requests")], self.pending[(m, "errors")])
            for m in sorted({m for m, _ in self.pending})
        ]
        self.pending.clear()
        self.last_flush = time.monotonic()
        return counts

    def flush_if_due(self, db: Database, defer: Callable[[Awaitable[Any]], None]) -> None:
        if self.due():
            defer(store.add_api_counts(db, self.worker, self.take()))
