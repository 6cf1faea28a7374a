"""Real MQTT clients for broker tests: paho-mqtt (threaded) and a raw-socket CONNECT.

The raw client exists for what paho will not do on purpose: drop the TCP connection
without a DISCONNECT, or fall silent past its keepalive.
"""

import queue
import socket
import threading

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.reasoncodes import ReasonCode

HOST = "127.0.0.1"
WAIT = 5.0


class MqttClient:
    def __init__(
        self,
        port: int,
        client_id: str,
        username: str | None = None,
        password: str | None = None,
        clean_session: bool = True,
        keepalive: int = 60,
    ) -> None:
        self.port = port
        self.client_id = client_id
        self.keepalive = keepalive
        self.paho = paho.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id,
            clean_session=clean_session,
            protocol=MQTTProtocolVersion.MQTTv311,
            reconnect_on_failure=False,  # a kicked/taken-over test client must stay gone
        )
        if username is not None:
            self.paho.username_pw_set(username, password)
        self.messages: queue.Queue[paho.MQTTMessage] = queue.Queue()
        self.connack: ReasonCode | None = None
        self._connected = threading.Event()
        self.disconnected = threading.Event()
        self._subacks: dict[int, list[ReasonCode]] = {}
        self._suback = threading.Condition()
        self.paho.on_connect = self._on_connect
        self.paho.on_disconnect = self._on_disconnect
        self.paho.on_message = lambda _c, _u, message: self.messages.put(message)
        self.paho.on_subscribe = self._on_subscribe

    def _on_connect(self, _c: object, _u: object, _f: object, rc: ReasonCode, _p: object) -> None:
        self.connack = rc
        self._connected.set()

    def _on_disconnect(self, *_args: object) -> None:
        self.disconnected.set()

    def _on_subscribe(
        self, _c: object, _u: object, mid: int, codes: list[ReasonCode], _p: object
    ) -> None:
        with self._suback:
            self._subacks[mid] = codes
            self._suback.notify_all()

    def connect(self) -> ReasonCode:
        self.paho.connect(HOST, self.port, self.keepalive)
        self.paho.loop_start()
        assert self._connected.wait(WAIT), "no CONNACK"
        assert self.connack is not None
        return self.connack

    def subscribe(self, topic: str, qos: int = 0) -> int:
        """The granted QoS, or 128 (0x80) when the broker refused the subscription."""
        _, mid = self.paho.subscribe(topic, qos)
        with self._suback:
            assert self._suback.wait_for(lambda: mid in self._subacks, WAIT), "no SUBACK"
            return self._subacks[mid][0].value

    def publish(self, topic: str, payload: str | bytes, qos: int = 0, retain: bool = False) -> None:
        info = self.paho.publish(topic, payload, qos, retain)
        if qos:
            info.wait_for_publish(WAIT)

    def next_message(self, timeout: float = WAIT) -> paho.MQTTMessage | None:
        try:
            return self.messages.get(timeout=timeout)
        except queue.Empty:
            return None

    def disconnect(self) -> None:
        self.paho.disconnect()
        self.disconnected.wait(WAIT)
        self.paho.loop_stop()

    def close(self) -> None:
        """Teardown: stop the network thread whatever state the client is in."""
        self.paho.disconnect()
        self.paho.loop_stop()


def _utf8(text: str) -> bytes:
    data = text.encode()
    return len(data).to_bytes(2, "big") + data


def _remaining_length(length: int) -> bytes:
    out = bytearray()
    while True:
        byte, length = length % 128, length // 128
        out.append(byte | (0x80 if length else 0))
        if not length:
            return bytes(out)


def raw_connect(
    port: int,
    client_id: str,
    username: str,
    password: str,
    keepalive: int = 60,
    will: tuple[str, str, int] | None = None,
) -> tuple[socket.socket, int]:
    """CONNECT (MQTT 3.1.1, clean session) over a bare socket; returns it and the CONNACK
    code. `will` is (topic, message, qos)."""
    flags = 0x02 | 0x80 | 0x40  # clean session, username, password
    will_fields = b""
    if will is not None:
        topic, message, qos = will
        flags |= 0x04 | (qos << 3)
        will_fields = _utf8(topic) + _utf8(message)
    variable = _utf8("MQTT") + bytes([4, flags]) + keepalive.to_bytes(2, "big")
    body = variable + _utf8(client_id) + will_fields + _utf8(username) + _utf8(password)
    sock = socket.create_connection((HOST, port), timeout=WAIT)
    sock.sendall(b"\x10" + _remaining_length(len(body)) + body)
    connack = sock.recv(4)
    assert connack[:2] == b"\x20\x02", connack
    return sock, connack[3]


def wait_closed_by_peer(sock: socket.socket, timeout: float) -> bool:
    """True when the broker closes the socket within `timeout` seconds."""
    sock.settimeout(timeout)
    try:
        return sock.recv(1) == b""
    except TimeoutError:
        return False
    except ConnectionError:
        return True


def raw_publish(sock: socket.socket, topic: str, payload: bytes) -> None:
    """A QoS 0 PUBLISH, whatever the topic (paho refuses invalid topics client-side)."""
    body = _utf8(topic) + payload
    sock.sendall(b"\x30" + _remaining_length(len(body)) + body)
