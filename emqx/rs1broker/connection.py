"""amqtt's per-connection protocol handler, extended with what EMQX reports and enforces.

amqtt's BrokerProtocolHandler only tells the broker "a DISCONNECT packet" or "the connection
ended" — not why it ended — and it ignores an expired keepalive. This subclass records a
close reason set by whoever ends the connection (API kick, takeover, keepalive, authz) so
the broker can report EMQX's client.disconnected reason, and closes the connection when
the keepalive expires.

It also acknowledges a QoS 1 PUBLISH as EMQX does: amqtt sends the PUBACK as soon as the
message is queued for the broker, before it is authorized or routed, so a link lost right
after the PUBACK dropped a message the client had been told was delivered. Here the PUBACK
waits until the broker has authorized and published the message (`routed`); EMQX sends it
from emqx_channel's process_publish, after the authz check and emqx_broker:publish (which
runs the rules).
"""

import asyncio
import contextlib
import math

from amqtt.errors import AMQTTError
from amqtt.mqtt.protocol.broker_handler import BrokerProtocolHandler
from amqtt.mqtt.puback import PubackPacket
from amqtt.session import (
    ApplicationMessage,
    IncomingApplicationMessage,
    OutgoingApplicationMessage,
)

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
    _unrouted: dict[int, asyncio.Future[bool]] | None = None

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

    # --- QoS 1 PUBACK after routing -----------------------------------------------------------

    @property
    def unrouted(self) -> dict[int, asyncio.Future[bool]]:
        """id(message) → its PUBACK's go-ahead, for QoS 1 messages the broker has not routed."""
        if self._unrouted is None:
            self._unrouted = {}
        return self._unrouted

    async def _handle_qos1_message_flow(
        self, app_message: OutgoingApplicationMessage | IncomingApplicationMessage
    ) -> None:
        if not isinstance(app_message, IncomingApplicationMessage):
            await super()._handle_qos1_message_flow(app_message)
            return
        if app_message.packet_id is None or self.session is None:
            raise AMQTTError("QoS 1 PUBLISH without a packet id or a session")
        key = id(app_message)
        go_ahead: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self.unrouted[key] = go_ahead
        try:
            await self.session.delivered_message_queue.put(app_message)
            acknowledge = await go_ahead
        finally:
            self.unrouted.pop(key, None)
        if acknowledge:
            puback = PubackPacket.build(app_message.packet_id)
            await self._send_packet(puback)
            app_message.puback_packet = puback

    def routed(self, app_message: ApplicationMessage, acknowledge: bool) -> None:
        """The broker is done with `app_message`: PUBACK it (acknowledge) or not (a publish
        denied under deny_action = disconnect, or a connection that is closing)."""
        go_ahead = self.unrouted.pop(id(app_message), None)
        if go_ahead is not None and not go_ahead.done():
            go_ahead.set_result(acknowledge)

    def abandon_unrouted(self) -> None:
        """The connection is over: messages the broker did not publish get no PUBACK (the
        client learns they were not delivered, and a QoS 1 client sends them again)."""
        for go_ahead in self.unrouted.values():
            if not go_ahead.done():
                go_ahead.set_result(False)
        self.unrouted.clear()
