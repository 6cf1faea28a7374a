"""amqtt's per-connection protocol handler, extended with what EMQX reports and enforces.

amqtt's BrokerProtocolHandler only tells the broker "a DISCONNECT packet" or "the connection
ended" — not why it ended — and it ignores an expired keepalive. This subclass records a
close reason set by whoever ends the connection (API kick, takeover, keepalive, authz) so
the broker can report EMQX's client.disconnected reason, and closes the connection when
the keepalive expires.
"""

import asyncio
import contextlib
import math

from amqtt.mqtt.protocol.broker_handler import BrokerProtocolHandler

from rs1broker.client_info import ClientInfo

KEEPALIVE_MULTIPLIER = 1.5  # EMQX (and MQTT 3.1.1) allow 1.5 x keepalive without a packet


def keepalive_deadline(keepalive: int) -> int:
    """Seconds without any packet before the connection is considered dead (0: never)."""
    return math.ceil(keepalive * KEEPALIVE_MULTIPLIER) if keepalive > 0 else 0


class CompatHandler(BrokerProtocolHandler):
    client: ClientInfo | None = None
    close_reason: str | None = None
    _close_task: asyncio.Task[None] | None = None
    _finished: asyncio.Event | None = None

    @property
    def finished(self) -> asyncio.Event:
        """Set once the broker has handled this connection's end (event sent, handler stopped)."""
        if self._finished is None:
            self._finished = asyncio.Event()
        return self._finished

    def handle_read_timeout(self) -> None:
        # amqtt's reader times out after session.keep_alive seconds of silence and then calls
        # this hook, which amqtt's broker handler leaves empty: EMQX closes the connection.
        self.request_close("keepalive_timeout")

    def request_close(self, reason: str) -> None:
        """End the connection (without waiting); the first reason given is the one reported."""
        if self.close_reason is None:
            self.close_reason = reason
        if self._close_task is None:
            self._close_task = asyncio.ensure_future(self.handle_connection_closed())

    async def close_and_wait(self, reason: str, wait_s: float = 5.0) -> None:
        self.request_close(reason)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.finished.wait(), wait_s)
            return
        await self.stop()  # the message loop did not react: close the socket at least
