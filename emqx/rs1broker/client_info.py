"""What the broker knows about a connected client and about an accepted publish."""

import secrets
import time
from dataclasses import dataclass


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def new_message_id() -> str:
    """A 32-hex-digit id like EMQX's message GUID: microsecond time first, then randomness."""
    return f"{time.time_ns() // 1000:016X}{secrets.token_hex(8).upper()}"


def host_port(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


@dataclass(frozen=True)
class ClientInfo:
    clientid: str
    username: str | None
    peerhost: str
    peerport: int
    sockname: str  # "ip:port" of the listener side
    keepalive: int  # as the client asked, in seconds
    clean_start: bool
    connected_at: int  # ms
    is_superuser: bool = False
    proto_name: str = "MQTT"
    proto_ver: int = 4  # amqtt speaks MQTT 3.1.1 only

    @property
    def peername(self) -> str:
        return host_port(self.peerhost, self.peerport)


@dataclass(frozen=True)
class PublishedMessage:
    """A publish the broker accepted (authorized), as the rule engine sees it."""

    id: str
    clientid: str
    username: str | None
    peerhost: str
    peername: str
    topic: str
    qos: int
    retain: bool
    dup: bool
    payload: bytes
    received_at: int  # ms
