"""One of an action's buffer workers, as EMQX 5 runs it (emqx_resource_buffer_worker.erl,
e5.10.4; line numbers below are that file's).

- running: jobs leave the queue for the connector while fewer than `inflight_window` are in
  flight; one already past its request_ttl is dropped instead (dropped.expired, :704-726).
- A reply after request_ttl counts late_reply, whatever it says (:1748-1766).
- success -> success; unrecoverable -> failed; for a job sent again by this worker
  retried.success / retried.failed (:1120-1165).
- recoverable (429, 503, econnrefused, timeout, closed) -> the job stays in flight,
  marked retriable, and the worker blocks: no new job is sent (:1797-1801). Every
  `retry_interval` it resends the first retriable job once (sync, :486-592) until it is
  acked or expired (dropped.expired); then the next; then running again.
- The queue holds at most max_buffer_bytes; beyond, the oldest jobs go (dropped.queue_full,
  :2011-2035). Job size here is the request body's length (EMQX: the query's external size).
"""

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from rs1broker.connector import Connector, Outcome
from rs1broker.jobs import ActionJob
from rs1broker.metrics import ActionMetrics
from rs1broker.settings import ActionSpec

log = logging.getLogger("rs1broker")

# The job's final outcome: (job, kind "success"|"failed"|"dropped", reason for the ledger).
Finish = Callable[[ActionJob, str, str], None]
Holdback = Callable[[], float]


@dataclass
class Query:
    job: ActionJob
    expire_at: float
    sent: bool = False  # EMQX's HasBeenSent: set once the buffer worker itself resends it
    retriable: bool = False
    task: "asyncio.Task[None] | None" = field(default=None, repr=False)

    def expired(self) -> bool:
        return time.monotonic() > self.expire_at


class BufferWorker:
    def __init__(
        self,
        spec: ActionSpec,
        connector: Connector,
        metrics: ActionMetrics,
        finish: Finish,
        holdback: Holdback,
    ) -> None:
        self._spec = spec
        self._connector = connector
        self._metrics = metrics
        self._finish = finish
        self._holdback = holdback
        self._queue: deque[Query] = deque()
        self.queued_bytes = 0
        self._inflight: list[Query] = []
        self._blocked = False
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    # --- what the dispatcher sees ------------------------------------------------------------

    @property
    def queuing(self) -> int:
        return len(self._queue)

    @property
    def inflight(self) -> int:
        return len(self._inflight)

    def idle(self) -> bool:
        return not self._queue and not self._inflight

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    def enqueue(self, job: ActionJob) -> None:
        self._queue.append(Query(job, time.monotonic() + self._spec.request_ttl))
        self.queued_bytes += len(job.body)
        while self.queued_bytes > self._spec.max_buffer_bytes and self._queue:
            oldest = self._pop()
            self._metrics.dropped("queue_full")
            self._finish(oldest.job, "dropped", "queue_full")
        self._wake.set()

    async def stop(self) -> list[ActionJob]:
        """Cancel everything; returns the jobs still queued or in flight (lost, as in EMQX)."""
        tasks = [q.task for q in self._inflight if q.task is not None]
        for task in (self._task, *tasks):
            if task is not None:
                task.cancel()
        await asyncio.gather(*(t for t in (self._task, *tasks) if t), return_exceptions=True)
        lost = [q.job for q in (*self._inflight, *self._queue)]
        self._inflight.clear()
        self._queue.clear()
        return lost

    # --- the worker's loop -------------------------------------------------------------------

    def _pop(self) -> Query:
        query = self._queue.popleft()
        self.queued_bytes -= len(query.job.body)
        return query

    async def _run(self) -> None:
        while True:
            if self._blocked:
                await asyncio.sleep(self._spec.retry_interval)
                await self._resume()
            elif self._queue and len(self._inflight) < self._spec.inflight_window:
                self._flush_one()
            else:
                self._wake.clear()
                await self._wake.wait()

    def _flush_one(self) -> None:
        query = self._pop()
        if query.expired():
            self._metrics.dropped("expired")
            self._finish(query.job, "dropped", "expired")
            return
        self._inflight.append(query)
        query.task = asyncio.create_task(self._send_async(query))

    async def _send_async(self, query: Query) -> None:
        delay = self._holdback()
        if delay:
            await asyncio.sleep(delay)  # rs1-only deliberate reordering
        try:
            outcome = await self._connector.send_async(query.job.body)
        except Exception:  # a bug must not leave the job in flight for ever
            log.exception("action %s: sending crashed", self._spec.name)
            outcome = Outcome("error")
        self._on_async_reply(query, outcome)

    def _on_async_reply(self, query: Query, outcome: Outcome) -> None:
        if query.expired():
            self._metrics.inc("late_reply")
            self._done(query, "dropped", "late_reply")
        elif outcome.ok or not outcome.recoverable:
            self._ack(query, outcome)
        else:
            query.retriable = True
            self._blocked = True
            self._wake.set()

    async def _resume(self) -> None:
        """Resend retriable jobs one by one, oldest first, including any that turned
        retriable while this ran; unblock only when none is left."""
        while query := next((q for q in self._inflight if q.retriable), None):
            if query.expired():
                self._metrics.dropped("expired")
                self._done(query, "dropped", "expired")
                continue
            query.sent = True
            outcome = await self._connector.send_sync(query.job.body)
            if not outcome.ok and outcome.recoverable:
                return  # still blocked: try again after retry_interval
            query.retriable = False
            self._ack(query, outcome)
        self._blocked = False

    def _ack(self, query: Query, outcome: Outcome) -> None:
        kind = "success" if outcome.ok else "failed"
        # retried_success / retried_failed also bump success / failed (emqx_resource_metrics).
        self._metrics.inc(kind, *(("retried", f"retried.{kind}") if query.sent else ()))
        self._done(query, kind, outcome.reason)

    def _done(self, query: Query, kind: str, reason: str) -> None:
        with contextlib.suppress(ValueError):
            self._inflight.remove(query)
        self._finish(query.job, kind, reason)
        self._wake.set()
