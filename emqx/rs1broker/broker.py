"""The EMQX-compatible local broker: amqtt's MQTT 3.1.1 broker with EMQX's connection,
authorization and rule-engine behaviour.

amqtt's plugin hooks cannot express EMQX's contracts (authz needs the publish's qos/retain;
a refused CONNECT must not touch an existing session; the disconnect reason is never passed
on), so this subclass overrides a few of amqtt 0.12.1's private methods. amqtt is pinned in
requirements-dev.txt; re-check these overrides when upgrading it:
- `_client_connected` (and `stream_connected`): the CONNECT sequence — authenticate first,
  then take over or discard an existing connection with the same client id, then CONNACK.
- `_handle_disconnect`: learn why the connection ended (EMQX's client.disconnected reason).
- `_handle_message_delivery`: authorize each publish with its qos/retain, drop denied ones;
  only then does the connection send a QoS 1 PUBACK (connection.CompatHandler), and the
  publishes still queued when a connection ends are routed before its end is reported.
Subscriptions are authorized in the public `add_subscription`.
"""

import asyncio
import logging
from typing import Any

from amqtt.adapters import ReaderAdapter, StreamReaderAdapter, StreamWriterAdapter, WriterAdapter
from amqtt.broker import Broker
from amqtt.errors import AMQTTError, MQTTError, NoDataError
from amqtt.mqtt.connack import NOT_AUTHORIZED, ConnackPacket
from amqtt.mqtt.disconnect import DisconnectPacket
from amqtt.mqtt.protocol.broker_handler import BrokerProtocolHandler
from amqtt.session import ApplicationMessage, Session

from rs1broker.authn import AuthnResult, HttpAuthenticator
from rs1broker.authz import AuthzDecision, AuthzRequest, HttpAuthorizer
from rs1broker.client_info import ClientInfo, PublishedMessage, host_port, new_message_id, now_ms
from rs1broker.connection import CompatHandler, keepalive_deadline
from rs1broker.ledger import Ledger, message_id_of
from rs1broker.metrics import Counters
from rs1broker.rule_engine import RuleEngine
from rs1broker.topics import is_topic_filter, is_topic_name, matches

log = logging.getLogger("rs1broker")

CLIENT_KEY = "rs1broker.client"  # Session.attributes key: the ClientInfo of the live connection
SUBACK_FAILURE = 0x80
# Reasons after which EMQX does not publish the will message.
NO_WILL_REASONS = frozenset({"normal", "takenover", "discarded"})
CONNECTION_ERRORS = (AMQTTError, MQTTError, NoDataError, ConnectionError, EOFError)


def _credentials(session: Session) -> dict[str, str]:
    """authn placeholders; a missing username or password renders as ""."""
    return {
        "clientid": session.client_id or "",
        "username": session.username or "",
        "password": session.password or "",
        "peerhost": session.remote_address or "",
        "cert_common_name": "",
        "cert_subject": "",
        "proto_name": "MQTT",
    }


def _carry_over(incoming: Session, session: Session) -> None:
    """A resumed session takes the new CONNECT's credentials, will and keepalive."""
    for name in ("will_flag", "will_message", "will_topic", "will_qos", "will_retain"):
        setattr(session, name, getattr(incoming, name))
    for name in ("keep_alive", "username", "password", "remote_address", "remote_port"):
        setattr(session, name, getattr(incoming, name))
    session.clean_session = False


class CompatBroker(Broker):
    def __init__(
        self,
        *,
        host: str,
        port: int,
        authn: HttpAuthenticator,
        authz: HttpAuthorizer,
        deny_action: str,
        rules: RuleEngine,
        node_metrics: Counters,
        ledger: Ledger,
    ) -> None:
        listener = {"type": "tcp", "bind": f"{host}:{port}"}
        # "plugins": {} loads none of amqtt's default plugins (anonymous auth, $SYS, ...).
        super().__init__({"listeners": {"default": listener}, "plugins": {}})
        self._authn = authn
        self._authz = authz
        self._deny_action = deny_action
        self._rules = rules
        self._metrics = node_metrics
        self._ledger = ledger

    @property
    def mqtt_port(self) -> int:
        """The bound port (useful after binding port 0)."""
        return next(iter(self._servers["default"].instance.sockets)).getsockname()[1]

    # --- connections -----------------------------------------------------------------------

    async def stream_connected(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, listener_name: str
    ) -> None:
        sockname = writer.get_extra_info("sockname") or ("undefined", 0)
        await self._serve_client(
            listener_name,
            StreamReaderAdapter(reader),
            StreamWriterAdapter(writer),
            host_port(sockname[0], sockname[1]),
        )

    async def _client_connected(
        self, listener_name: str, reader: ReaderAdapter, writer: WriterAdapter
    ) -> None:
        await self._serve_client(listener_name, reader, writer, "undefined")

    async def _serve_client(
        self, listener_name: str, reader: ReaderAdapter, writer: WriterAdapter, sockname: str
    ) -> None:
        server = self._servers[listener_name]
        await server.acquire_connection()
        try:
            await self._run_client(reader, writer, sockname)
        except CONNECTION_ERRORS as exc:
            log.debug("connection ended: %r", exc)
        finally:
            server.release_connection()

    async def _run_client(
        self, reader: ReaderAdapter, writer: WriterAdapter, sockname: str
    ) -> None:
        handler, incoming = await CompatHandler.init_from_connect(
            reader, writer, self.plugins_manager
        )
        assert isinstance(handler, CompatHandler)  # amqtt builds cls(...), annotated as its base
        result = await self._authn.authenticate(_credentials(incoming))
        self._count_authn(result)
        if not result.allowed:
            await self._refuse(writer, incoming, result)
            return
        session = await self._adopt_session(incoming)
        client = ClientInfo(
            clientid=session.client_id or "",
            username=incoming.username,
            peerhost=incoming.remote_address or "",
            peerport=incoming.remote_port or 0,
            sockname=sockname,
            keepalive=incoming.keep_alive,
            clean_start=bool(incoming.clean_session),
            connected_at=now_ms(),
            is_superuser=result.is_superuser,
        )
        await self._accept(handler, session, client, reader, writer)
        try:
            await self._client_message_loop(session, handler)
        finally:
            # amqtt's loop also ends when cancelled, without a disconnect: report it anyway.
            if not handler.finished.is_set():
                await self._finish(session, handler, handler.close_reason or "internal_error")

    def _count_authn(self, result: AuthnResult) -> None:
        # emqx_access_control.erl:324-332 (authentication.*), emqx_metrics client.authenticate.
        self._metrics.inc("client.authenticate")
        if not result.allowed:
            self._metrics.inc("authentication.failure", "packets.connack.auth_error")
        elif result.anonymous:
            self._metrics.inc("authentication.success", "authentication.success.anonymous")
        else:
            self._metrics.inc("authentication.success")

    async def _refuse(self, writer: WriterAdapter, incoming: Session, result: AuthnResult) -> None:
        log.warning(
            "refused connection: clientid=%s username=%s peer=%s: authn %s (%s)",
            incoming.client_id,
            incoming.username,
            incoming.remote_address,
            result.outcome,
            result.why,
        )
        # EMQX answers both "deny" and "ignore from the last authenticator" with
        # not_authorized (MQTT 3.1.1 CONNACK return code 5), then closes the socket.
        try:
            await ConnackPacket.build(0, NOT_AUTHORIZED).to_stream(writer)
        finally:
            await writer.close()

    async def _adopt_session(self, incoming: Session) -> Session:
        """EMQX's session rules for a client id that is already known:
        clean start discards the old session ("discarded"), otherwise the new connection
        takes it over ("takenover"); either way the old connection is closed first."""
        clientid = incoming.client_id or ""
        existing = self._sessions.get(clientid)
        if existing is not None:
            old_session, old_handler = existing
            if old_session.transitions.is_connected() and isinstance(old_handler, CompatHandler):
                reason = "discarded" if incoming.clean_session else "takenover"
                await old_handler.close_and_wait(reason)
        if incoming.clean_session or clientid not in self._sessions:
            await self._delete_session(clientid)
            incoming.parent = 0
            return incoming
        session = self._sessions[clientid][0]
        _carry_over(incoming, session)
        session.parent = 1  # CONNACK "session present"
        return session

    async def _accept(
        self,
        handler: CompatHandler,
        session: Session,
        client: ClientInfo,
        reader: ReaderAdapter,
        writer: WriterAdapter,
    ) -> None:
        session.keep_alive = keepalive_deadline(client.keepalive)
        session.attributes[CLIENT_KEY] = client
        handler.client = client
        handler.attach(session, reader, writer)
        if session.transitions.is_connected():  # an old connection that never reported its end
            session.transitions.disconnect()
        session.transitions.connect()
        self._sessions[client.clientid] = (session, handler)
        await handler.mqtt_connack_authorize(True)
        self._metrics.inc("client.connected")
        self._rules.on_connected(client)
        await handler.start()
        # Deliver what was queued for a persistent session while it was offline.
        await self._publish_session_retained_messages(session)

    async def _handle_disconnect(
        self,
        client_session: Session,
        handler: BrokerProtocolHandler,
        disconnect_waiter: asyncio.Future[Any],
    ) -> None:
        if not isinstance(handler, CompatHandler) or handler.client is None:
            await super()._handle_disconnect(client_session, handler, disconnect_waiter)
            return
        # amqtt only says "DISCONNECT packet" or "connection gone"; whoever ended the
        # connection on purpose (kick, takeover, keepalive, authz) left a reason on the handler.
        if isinstance(disconnect_waiter.result(), DisconnectPacket):
            reason = "normal"
        else:
            reason = handler.close_reason or "tcp_closed"
        await self._drain(client_session, handler)
        await self._finish(client_session, handler, reason)

    async def _drain(self, session: Session, handler: CompatHandler) -> None:
        """Publish what the client sent before its connection ended and amqtt's message loop
        has not taken yet (amqtt would drop it): EMQX handles every packet it received before
        the socket closed. A QoS 1 PUBACK for these can no longer reach the client."""
        queue = session.delivered_message_queue
        while not queue.empty():
            await self._deliver(session, handler, queue.get_nowait())

    async def _finish(self, session: Session, handler: CompatHandler, reason: str) -> None:
        if handler.finished.is_set() or handler.client is None:
            return
        try:
            if session.will_flag and reason not in NO_WILL_REASONS:
                await self._publish_will(session, handler.client)
            await self._stop_handler(handler)
            handler.abandon_unrouted()
            session.transitions.disconnect()
            self._authz.forget(handler.client.clientid)
            self._metrics.inc("client.disconnected")
            self._rules.on_disconnected(handler.client, reason, now_ms())
        finally:
            handler.finished.set()

    async def _publish_will(self, session: Session, client: ClientInfo) -> None:
        # amqtt would broadcast the will unchecked; EMQX authorizes it and runs rules on it.
        if session.will_topic and is_topic_name(session.will_topic):
            payload = bytes(session.will_message or b"")
            qos = session.will_qos or 0
            await self._route_publish(
                session, client, session.will_topic, payload, qos, bool(session.will_retain), False
            )

    # --- publish and subscribe ----------------------------------------------------------------

    async def _handle_message_delivery(
        self,
        client_session: Session,
        handler: BrokerProtocolHandler,
        wait_deliver: asyncio.Future[Any],
    ) -> bool:
        message = wait_deliver.result()
        if not isinstance(handler, CompatHandler) or handler.client is None:
            return await super()._handle_message_delivery(client_session, handler, wait_deliver)
        if message is not None:
            await self._deliver(client_session, handler, message)
        return True

    async def _deliver(
        self, session: Session, handler: CompatHandler, message: ApplicationMessage
    ) -> None:
        """Authorize and publish one message from the client, then let its connection
        acknowledge it (QoS 1: EMQX's PUBACK follows authz and routing, never precedes it)."""
        acknowledge = False
        try:
            acknowledge = await self._route_client_message(session, handler, message)
        finally:
            handler.routed(message, acknowledge)

    async def _route_client_message(
        self, session: Session, handler: CompatHandler, message: ApplicationMessage
    ) -> bool:
        """Whether the client is to be acknowledged: yes for a published message and, under
        deny_action = ignore, a denied one (MQTT 3.1.1's PUBACK has no reason code)."""
        client = handler.client
        if client is None:
            return False
        if not is_topic_name(message.topic):
            log.warning(
                "closing %s: invalid PUBLISH topic %r", client.clientid, message.topic[:100]
            )
            handler.request_close("protocol_error")
            return False
        packet = message.publish_packet
        self._metrics.inc("messages.received")
        allowed = await self._route_publish(
            session,
            client,
            message.topic,
            bytes(message.data),
            message.qos or 0,
            bool(packet and packet.retain_flag),
            bool(packet and packet.dup_flag),
        )
        if not allowed and self._deny_action == "disconnect":
            handler.request_close("not_authorized")
            return False
        # deny_action = ignore: a denied publish is dropped silently, the connection stays.
        return True

    async def _route_publish(
        self,
        session: Session,
        client: ClientInfo,
        topic: str,
        payload: bytes,
        qos: int,
        retain: bool,
        dup: bool,
    ) -> bool:
        received_at = now_ms()
        decision = await self._authorize(client, "publish", topic, qos, retain)
        if not decision.allowed:
            self._publish_denied(client, topic, payload, qos, decision)
            return False
        if self.subscriber_count(topic):
            await self._broadcast_message(session, topic, payload)
        else:  # emqx_broker.erl:499-500, rules or not. Nobody to deliver to: amqtt's broadcast
            # loop (one task a message, a scan of every filter) is skipped, or a fleet's
            # telemetry, which no client subscribes to, would delay every command behind it.
            self._metrics.inc("messages.dropped", "messages.dropped.no_subscribers")
        if retain:
            await self.retain_message(session, topic, payload, qos)
        message = PublishedMessage(
            new_message_id(), client.clientid, client.username, client.peerhost,
            client.peername, topic, qos, retain, dup, payload, received_at,
        )  # fmt: skip
        self._rules.on_publish(message)
        return True

    def _publish_denied(
        self, client: ClientInfo, topic: str, payload: bytes, qos: int, decision: AuthzDecision
    ) -> None:
        if qos:  # the PUBACK/PUBREC carries not_authorized (emqx_metrics.erl:318-322)
            self._metrics.inc("packets.publish.auth_error")
        self._ledger.write(
            "authz_deny",
            reason=decision.reason,
            detail=decision.detail,
            clientid=client.clientid,
            topic=topic,
            message_id=message_id_of(payload),
        )

    async def add_subscription(self, subscription: tuple[str, int], session: Session) -> int:
        topic_filter, qos = subscription
        client = session.attributes.get(CLIENT_KEY)
        # amqtt (super) rejects a malformed filter; a well-formed one is asked about first.
        if (
            isinstance(client, ClientInfo)
            and is_topic_filter(topic_filter)
            and not await self._authorized(client, "subscribe", topic_filter, qos, False)
        ):
            return SUBACK_FAILURE
        return await super().add_subscription(subscription, session)

    async def _authorized(
        self, client: ClientInfo, action: str, topic: str, qos: int, retain: bool
    ) -> bool:
        return (await self._authorize(client, action, topic, qos, retain)).allowed

    async def _authorize(
        self, client: ClientInfo, action: str, topic: str, qos: int, retain: bool
    ) -> AuthzDecision:
        if client.is_superuser:
            self._metrics.inc("authorization.superuser", "authorization.allow")
            return AuthzDecision(True, "superuser", "allow")
        request = AuthzRequest(
            client.clientid, client.username, client.peerhost, action, topic, qos, retain
        )
        decision = await self._authz.check(request)
        self._count_authz(decision)
        if not decision.allowed:
            log.warning(
                "authz denied: %s %s clientid=%s username=%s (%s)",
                action, topic, client.clientid, client.username, decision.source,
            )  # fmt: skip
        return decision

    def _count_authz(self, decision: AuthzDecision) -> None:
        # emqx_access_control.erl:146-153,210-224,316-323 and emqx_authz.erl:467-485.
        self._metrics.inc("client.authorize")
        if decision.source == "cache":
            self._metrics.inc("authorization.cache_hit")
        else:
            found = "authorization.nomatch" if decision.outcome == "nomatch" else None
            self._metrics.inc(
                "authorization.cache_miss", found or f"authorization.matched.{decision.outcome}"
            )
        self._metrics.inc("authorization.allow" if decision.allowed else "authorization.deny")

    # --- what the HTTP API does --------------------------------------------------------------

    def subscriber_count(self, topic: str) -> int:
        """Subscriptions a message on `topic` reaches now or, for persistent QoS>0 ones, later."""
        count = 0
        # A filter without wildcards matches only itself: look it up, scan only the others.
        exact = [topic] if topic in self._subscriptions else []
        wild = [f for f in self._subscriptions if ("+" in f or "#" in f) and matches(f, topic)]
        for topic_filter in exact + wild:
            for session, qos in self._subscriptions[topic_filter]:
                if session.transitions.is_connected() or (not session.clean_session and qos > 0):
                    count += 1
        return count

    async def publish_from_api(self, topic: str, payload: bytes, qos: int, retain: bool) -> bool:
        """Publish like a client would (no authz, as in EMQX); True when anyone subscribes."""
        delivered = self.subscriber_count(topic) > 0
        await self._broadcast_message(None, topic, payload)
        if retain:
            await self.retain_message(None, topic, payload, qos)
        return delivered

    async def kick(self, clientid: str) -> bool:
        """Close the client's connection (reason "kicked") and end its session."""
        entry = self._sessions.get(clientid)
        if entry is None:
            return False
        session, handler = entry
        connected = session.transitions.is_connected()
        if not connected and session.clean_session:
            return False  # already gone; amqtt just has not reaped it yet
        if connected and isinstance(handler, CompatHandler):
            await handler.close_and_wait("kicked")
        await self._delete_session(clientid)
        return True
