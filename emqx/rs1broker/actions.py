"""HTTP actions: rule outputs sent to the Workers off the broker's path.

Jobs are spread over a fixed set of worker queues by client id, so one client's messages
and events reach the Workers in the order the broker accepted them, while different
clients proceed in parallel over the shared connection pool. A failed call (transport
error, timeout or 5xx) is tried up to 3 times in all, as EMQX does, with a doubling backoff;
a 2xx is done; any other status (4xx) is a permanent answer and is only logged.
"""

import asyncio
import contextlib
import json
import logging
import zlib
from dataclasses import dataclass
from typing import Any

from rs1broker.settings import ActionSpec
from rs1broker.templates import from_output, render
from rs1broker.webhook_client import CALL_ERRORS, WebhookClient

log = logging.getLogger("rs1broker")

QUEUE_LIMIT = 10_000  # per worker; beyond it new jobs are dropped (and logged), like a full buffer


@dataclass(frozen=True)
class ActionJob:
    action: ActionSpec
    body: bytes
    what: str  # for log lines: "rule_id topic"


def job_for(action: ActionSpec, output: dict[str, Any], what: str) -> ActionJob:
    if action.body_template is None:
        body = json.dumps(output, separators=(",", ":"), ensure_ascii=False)
    else:
        body = render(action.body_template, from_output(output))
    return ActionJob(action, body.encode(), what)


class ActionDispatcher:
    def __init__(self, client: WebhookClient, workers: int = 8, backoff: float = 0.2) -> None:
        self._client = client
        self._backoff = backoff
        self._queues: list[asyncio.Queue[ActionJob]] = [
            asyncio.Queue(QUEUE_LIMIT) for _ in range(max(1, workers))
        ]
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._work(q)) for q in self._queues]

    async def stop(self, drain_seconds: float = 5.0) -> None:
        """Let queued jobs finish for up to `drain_seconds`, then cancel the workers."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.gather(*(q.join() for q in self._queues)), drain_seconds)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def submit(self, ordering_key: str, job: ActionJob) -> None:
        queue = self._queues[zlib.crc32(ordering_key.encode()) % len(self._queues)]
        try:
            queue.put_nowait(job)
        except asyncio.QueueFull:
            log.warning("action %s dropped (queue full): %s", job.action.name, job.what)

    async def _work(self, queue: asyncio.Queue[ActionJob]) -> None:
        while True:
            job = await queue.get()
            try:
                await self._deliver(job)
            except Exception:  # a bug must not stop the worker
                log.exception("action %s crashed: %s", job.action.name, job.what)
            finally:
                queue.task_done()

    async def _deliver(self, job: ActionJob) -> None:
        attempts = job.action.attempts
        problem = ""
        for attempt in range(attempts):
            if attempt:
                await asyncio.sleep(self._backoff * 2 ** (attempt - 1))
            problem, retry = await self._attempt(job)
            if not problem:
                return
            if not retry:
                log.warning(
                    "action %s failed: %s (not retried): %s", job.action.name, problem, job.what
                )
                return
        log.warning(
            "action %s failed after %d attempts: %s: %s",
            job.action.name,
            attempts,
            problem,
            job.what,
        )

    async def _attempt(self, job: ActionJob) -> tuple[str, bool]:
        """("", _) when done, else (what went wrong, whether to retry)."""
        spec = job.action
        try:
            reply = await self._client.send(
                spec.method,
                spec.url,
                spec.headers,
                job.body,
                (spec.connect_timeout, spec.request_timeout),
            )
        except CALL_ERRORS as exc:
            return f"{type(exc).__name__} calling {spec.url}", True
        if 200 <= reply.status < 300:
            return "", False
        return f"HTTP {reply.status} from {spec.url}", reply.status >= 500
