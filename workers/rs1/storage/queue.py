"""The message-queue port: a Cloudflare Queue producer (implemented in rs1.platform.queues).

Cloudflare's limits, which a producer must respect (developers.cloudflare.com/queues/platform/
limits): a message is at most 128 KB, one sendBatch call carries at most 100 messages and
256 KB in all, where each message counts ~100 bytes of internal metadata besides its body
(1 KB = 1,000 bytes). `send_batch` takes bodies already cut to those limits
(rs1.telemetry.queue).
"""

from collections.abc import Sequence
from typing import Protocol

MAX_MESSAGE_BYTES = 128_000
MAX_BATCH_MESSAGES = 100
MAX_BATCH_BYTES = 256_000
METADATA_BYTES = 100  # counted per message towards both limits


def counted_size(body: str) -> int:
    """What a message counts towards Cloudflare's size limits."""
    return len(body.encode()) + METADATA_BYTES


class QueueError(Exception):
    """The queue refused or failed a send: nothing of that call may be assumed queued."""


class MessageQueue(Protocol):
    async def send_batch(self, bodies: Sequence[str]) -> None:
        """Queue every body (at most MAX_BATCH_MESSAGES, MAX_BATCH_BYTES), or raise QueueError."""
        ...
