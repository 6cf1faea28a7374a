"""Cloudflare Queues glue: the producer port over a queue binding, and a delivered batch
handed to a consumer as plain values, its outcome applied back as acks and retries.

Both go to the JS objects directly (rs1.platform.d1.raw_binding), past the SDK's generic
per-value conversions: a batch of 100 messages is 100 bodies read, one ackAll.
"""

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from js import Object
from pyodide.ffi import to_js

from rs1.platform.d1 import raw_binding
from rs1.storage.queue import QueueError
from rs1.telemetry.consumer import Delivery, Outcome


class RawQueue:
    """rs1.storage.queue.MessageQueue over a producer binding; bodies go as text."""

    def __init__(self, binding: Any) -> None:
        self._binding = raw_binding(binding)

    async def send_batch(self, bodies: Sequence[str]) -> None:
        messages = to_js([{"body": b, "contentType": "text"} for b in bodies],
                         dict_converter=Object.fromEntries)  # fmt: skip
        try:
            await self._binding.sendBatch(messages)
        except Exception as exc:  # the binding refuses (limits) or fails (outage) as JsException
            raise QueueError(str(exc)) from exc


Consumer = Callable[[Sequence[Delivery]], Awaitable[Outcome]]


def _deliveries(messages: Any) -> list[Delivery]:
    return [Delivery(str(m.id), m.body, int(m.attempts)) for m in messages]


def _retry_options(delay_s: int) -> Any:
    return to_js({"delaySeconds": delay_s}, dict_converter=Object.fromEntries)


async def deliver(batch: Any, consume: Consumer) -> Outcome:
    """Run `consume` on the batch and settle every message: retried as it says, else acked.
    An exception escapes to the runtime, which retries the whole batch (Cloudflare's rule)."""
    js_batch = raw_binding(batch)
    messages = list(js_batch.messages)
    outcome = await consume(_deliveries(messages))
    if outcome.retry_all:
        js_batch.retryAll(_retry_options(outcome.delay_s))
        return outcome
    retry = set(outcome.retry)
    if not retry:
        js_batch.ackAll()
        return outcome
    for message in messages:
        if str(message.id) in retry:
            message.retry(_retry_options(outcome.delay_s))
        else:
            message.ack()
    return outcome
