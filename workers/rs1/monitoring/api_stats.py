"""Per-isolate request/5xx counters, flushed to D1 api_stats about every 10 seconds.

Counting in memory and flushing in the background (ctx.waitUntil) keeps a D1 write off every
request; a counter lost with an evicted isolate costs at most ~10 s of statistics.
"""

import time
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

from rs1.storage.database import Database, Statement

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

    def take(self) -> list[Statement]:
        minutes = sorted({m for m, _ in self.pending})
        statements = [
            Statement(
                "INSERT INTO api_stats (minute, worker, requests, errors) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (minute, worker) DO UPDATE SET "
                "requests = requests + excluded.requests, errors = errors + excluded.errors",
                (m, self.worker, self.pending[(m, "requests")], self.pending[(m, "errors")]),
            )
            for m in minutes
        ]
        self.pending.clear()
        self.last_flush = time.monotonic()
        return statements

    def flush_if_due(self, db: Database, defer: Callable[[Awaitable[Any]], None]) -> None:
        if self.due():
            defer(db.batch(self.take()))
