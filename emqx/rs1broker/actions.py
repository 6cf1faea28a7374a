"""HTTP actions as EMQX 5 delivers them: per action, `worker_pool_size` buffer workers
(buffer_worker.py) in front of the HTTP connector (connector.py).

No batching: one request per rule output. A job goes to a worker picked by its client id
(EMQX picks by the publishing connection's process, buffer_worker.erl:186), but nothing
keeps order: requests are in flight concurrently, retries come later, and actions are
independent. rs1-only: with a reorder seed each first send is held back a seeded random
0-50 ms, so two jobs of one client can swap, as they can in production.
"""

import asyncio
import contextlib
import logging
import random
import zlib
from collections.abc import Iterable

from rs1broker.buffer_worker import BufferWorker
from rs1broker.connector import Connector
from rs1broker.jobs import ActionJob
from rs1broker.ledger import Ledger
from rs1broker.metrics import MetricsRegistry
from rs1broker.settings import ActionSpec
from rs1broker.webhook_client import WebhookClient

log = logging.getLogger("rs1broker")

MAX_HOLDBACK = 0.05  # seconds; rs1-only reordering


class ActionResource:
    """One action: its connector and buffer workers."""

    def __init__(self, spec: ActionSpec, workers: list[BufferWorker]) -> None:
        self.spec = spec
        self.workers = workers

    def worker_for(self, clientid: str) -> BufferWorker:
        return self.workers[zlib.crc32(clientid.encode()) % len(self.workers)]

    def gauges(self) -> tuple[int, int, int]:
        """(inflight, queuing, queuing_bytes), summed over the workers."""
        return (
            sum(w.inflight for w in self.workers),
            sum(w.queuing for w in self.workers),
            sum(w.queued_bytes for w in self.workers),
        )


class ActionDispatcher:
    def __init__(
        self,
        client: WebhookClient,
        actions: Iterable[ActionSpec],
        metrics: MetricsRegistry,
        ledger: Ledger,
        reorder_seed: int | None = None,
    ) -> None:
        self._metrics = metrics
        self._ledger = ledger
        # Reproducible test traffic, not security: a seeded PRNG is the point.
        self._random = random.Random(reorder_seed) if reorder_seed is not None else None  # noqa: S311
        self._progress = asyncio.Event()  # set whenever a job reaches its end
        self._pools: dict[str, asyncio.Semaphore] = {}  # per connector, shared by its actions
        self._resources = {spec.name: self._resource(client, spec) for spec in actions}

    def _resource(self, client: WebhookClient, spec: ActionSpec) -> ActionResource:
        metrics = self._metrics.actions[spec.name]
        pool = self._pools.setdefault(spec.connector, asyncio.Semaphore(spec.pool_size))
        connector = Connector(client, spec, metrics, pool)
        workers = [
            BufferWorker(spec, connector, metrics, self._finish, self._holdback)
            for _ in range(max(1, spec.worker_pool_size))
        ]
        return ActionResource(spec, workers)

    def start(self) -> None:
        for worker in self._workers():
            worker.start()

    def submit(self, job: ActionJob) -> None:
        self._metrics.actions[job.action.name].inc("matched")
        self._metrics.rules[job.rule_id].inc("actions.total")
        self._resources[job.action.name].worker_for(job.clientid).enqueue(job)

    def action_metrics(self, name: str) -> dict[str, object] | None:
        resource = self._resources.get(name)
        if resource is None:
            return None
        return self._metrics.actions[name].as_json(*resource.gauges())

    async def stop(self, drain_seconds: float = 5.0) -> None:
        """Let in-flight and queued jobs finish for up to `drain_seconds`; what is left is
        lost (EMQX's memory buffer does not survive a restart) and written to the ledger."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._drained(), drain_seconds)
        for name, resource in self._resources.items():
            for worker in resource.workers:
                for job in await worker.stop():
                    self._metrics.actions[name].lost_at_shutdown += 1
                    self._write(job, "action_dropped", "shutdown")

    async def _drained(self) -> None:
        while not all(w.idle() for w in self._workers()):
            self._progress.clear()
            await self._progress.wait()

    def _workers(self) -> list[BufferWorker]:
        return [w for r in self._resources.values() for w in r.workers]

    def _holdback(self) -> float:
        return self._random.uniform(0, MAX_HOLDBACK) if self._random else 0.0

    def _finish(self, job: ActionJob, kind: str, reason: str) -> None:
        """A job's final outcome: rule metrics (emqx_rule_runtime.erl:840-895), node
        actions.executed, and a ledger line unless it succeeded."""
        self._progress.set()
        rule = self._metrics.rules[job.rule_id]
        if kind == "success":
            rule.inc("actions.success")
        else:
            rule.inc("actions.failed", "actions.failed.unknown")
            log.warning("action %s %s (%s): rule %s, %s %s", job.action.name, kind, reason,
                        job.rule_id, job.clientid, job.topic)  # fmt: skip
        if kind != "dropped":
            self._metrics.node.inc("actions.executed")
        if kind != "success":
            self._write(job, f"action_{kind}", reason)

    def _write(self, job: ActionJob, kind: str, reason: str) -> None:
        self._ledger.write(
            kind,
            reason=reason,
            action=job.action.name,
            rule=job.rule_id,
            clientid=job.clientid,
            topic=job.topic,
            message_id=job.message_id,
        )
