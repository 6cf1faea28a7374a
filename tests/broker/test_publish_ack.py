"""A QoS 1 PUBACK is the broker's promise, as in EMQX 5: it goes out only once the PUBLISH was
authorized and handed to the routes and rules (emqx_channel: process_publish, then puback),
and a PUBLISH that reached the broker before its connection dropped is still published.

The fleet's message ledger counts a PUBACKed message as the broker's responsibility; a
broker that acknowledged first and dropped the message when the link died right after (the
demo's "unexplained" presence/health messages after a flaky reconnect) loses it silently.
"""

import json
import socket
import time
from collections.abc import Callable, Iterator

import httpx
import pytest
from broker.constants import API_KEY
from broker.mqtt_clients import raw_connect
from broker.webhook_recorder import ALLOW, RecordingWebhookServer, Reply
from rs1broker import LocalBroker

ACL = "/webhook/mqtt-acl"
TELEMETRY = "/webhook/telemetry"
DEVICE = "rs1-0600"
KINDS = ("targets", "presence", "health")
AUTHZ_DELAY = 0.4  # seconds: a slow authz webhook (a cache miss on a loaded Worker)


def _utf8(text: str) -> bytes:
    data = text.encode()
    return len(data).to_bytes(2, "big") + data


def _publish_qos1(sock: socket.socket, packet_id: int, topic: str, payload: bytes) -> None:
    body = _utf8(topic) + packet_id.to_bytes(2, "big") + payload
    assert len(body) < 128  # one-byte remaining length
    sock.sendall(bytes([0x32, len(body)]) + body)


def _pubacks(sock: socket.socket, within: float, count: int | None = None) -> list[int]:
    """Packet ids of the PUBACKs that arrive within `within` seconds (or the first `count`)."""
    acked: list[int] = []
    buffer = b""
    deadline = time.monotonic() + within
    while (left := deadline - time.monotonic()) > 0 and (count is None or len(acked) < count):
        sock.settimeout(left)
        try:
            chunk = sock.recv(64)
        except TimeoutError:
            break
        if not chunk:
            break
        buffer += chunk
        while len(buffer) >= 4 and buffer[:2] == b"\x40\x02":
            acked.append(int.from_bytes(buffer[2:4], "big"))
            buffer = buffer[4:]
    return acked


def _message(kind: str) -> tuple[str, bytes]:
    payload = json.dumps({"message_id": f"m-{kind}", "ts": 1}).encode()
    return f"opticworks/{DEVICE}/telemetry/{kind}", payload


def _forwarded_ids(webhooks: RecordingWebhookServer, count: int, within: float) -> set[str]:
    """The message ids forwarded to the telemetry action once `count` arrived, or after
    `within` seconds (deliveries are reordered on purpose: a set)."""
    deadline = time.monotonic() + within
    while len(webhooks.requests(TELEMETRY)) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    return {json.loads(r.json()["payload"])["message_id"] for r in webhooks.requests(TELEMETRY)}


@pytest.fixture
def device(broker: LocalBroker) -> Iterator[Callable[[], socket.socket]]:
    made: list[socket.socket] = []

    def connect() -> socket.socket:
        sock, code = raw_connect(broker.mqtt_port, DEVICE, DEVICE, "pw")
        assert code == 0
        made.append(sock)
        return sock

    yield connect
    for sock in made:
        sock.close()


def test_a_puback_follows_authorization_and_the_rules(
    broker: LocalBroker, webhooks: RecordingWebhookServer, device: Callable[[], socket.socket]
) -> None:
    webhooks.script(ACL, Reply(body=ALLOW, delay=AUTHZ_DELAY))
    sock = device()
    topic, payload = _message("targets")
    sent = time.monotonic()
    _publish_qos1(sock, 1, topic, payload)
    assert _pubacks(sock, 5.0 + AUTHZ_DELAY, count=1) == [1]
    assert time.monotonic() - sent >= AUTHZ_DELAY, "PUBACK before the authz answer"
    # The rule had the message when the PUBACK left: its action was already submitted.
    auth = (API_KEY.key, API_KEY.secret)
    url = f"{broker.api_url}/api/v5/rules/rs1_telemetry_forward/metrics"
    metrics = httpx.get(url, auth=auth, timeout=5).json()["metrics"]
    assert metrics["matched"] == 1


def test_a_link_lost_after_the_publishes_loses_no_acknowledged_message(
    webhooks: RecordingWebhookServer, device: Callable[[], socket.socket]
) -> None:
    """A device sends a frame (targets, presence, health) right after connecting, while the
    broker still waits on authz for the first topic, and its link dies: whatever it was
    PUBACKed is forwarded, and so is everything that reached the broker (EMQX handles the
    packets it received before the socket closed)."""
    webhooks.script(ACL, Reply(body=ALLOW, delay=AUTHZ_DELAY))
    sock = device()
    for packet_id, kind in enumerate(KINDS, start=1):
        _publish_qos1(sock, packet_id, *_message(kind))
    acked = _pubacks(sock, AUTHZ_DELAY / 2)
    sock.shutdown(socket.SHUT_RDWR)  # the flaky link: FIN, no DISCONNECT
    forwarded = _forwarded_ids(webhooks, len(KINDS), 5 + len(KINDS) * AUTHZ_DELAY)
    lost = [f"m-{KINDS[i - 1]}" for i in acked if f"m-{KINDS[i - 1]}" not in forwarded]
    assert not lost, f"PUBACKed but never forwarded: {lost}"
    assert forwarded == {f"m-{kind}" for kind in KINDS}
