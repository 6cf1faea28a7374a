"""A buffer worker's blocked state (emqx_resource_buffer_worker.erl): every job that turned
retriable is resent, also one whose 503 arrived while another was being resent."""

import asyncio

from rs1broker.buffer_worker import BufferWorker
from rs1broker.connector import Outcome
from rs1broker.jobs import ActionJob
from rs1broker.metrics import ActionMetrics
from rs1broker.settings import ActionSpec

SPEC = ActionSpec("http:t", "post", "http://x", {}, None, request_ttl=30.0, resume_interval=0.01)
UNAVAILABLE, OK = Outcome("503", 503), Outcome("200", 200)


class StaggeredConnector:
    """Job a's first answer is an immediate 503; job b's 503 comes only while a is being
    resent; every resend succeeds."""

    def __init__(self) -> None:
        self.resending_a = asyncio.Event()
        self.b_answered = asyncio.Event()

    async def send_async(self, body: bytes) -> Outcome:
        if body == b"b":
            await self.resending_a.wait()
            self.b_answered.set()
        return UNAVAILABLE

    async def send_sync(self, body: bytes) -> Outcome:
        if body == b"a":
            self.resending_a.set()
            await self.b_answered.wait()
        return OK


def job(body: bytes) -> ActionJob:
    return ActionJob(SPEC, body, "rule", "client", "t/1", None)


def test_a_job_that_turns_retriable_during_a_resend_is_resent_too() -> None:
    async def scenario() -> list[tuple[bytes, str]]:
        finished: list[tuple[bytes, str]] = []
        worker = BufferWorker(
            SPEC,
            StaggeredConnector(),  # type: ignore[arg-type]
            ActionMetrics(),
            lambda j, kind, reason: finished.append((j.body, kind)),
            lambda: 0.0,
        )
        worker.start()
        worker.enqueue(job(b"a"))
        worker.enqueue(job(b"b"))
        for _ in range(200):
            if len(finished) == 2:
                break
            await asyncio.sleep(0.01)
        await worker.stop()
        return finished

    assert sorted(asyncio.run(scenario())) == [(b"a", "success"), (b"b", "success")]
