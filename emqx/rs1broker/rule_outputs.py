"""The JSON objects EMQX 5's `SELECT *` yields for message.publish, client.connected and
client.disconnected — what an HTTP action with an empty body sends to the Workers.

A client without a username shows "undefined" (EMQX prints its `undefined` atom); the
payload is the raw payload as a string, so JSON telemetry arrives as a JSON string.
"""

from typing import Any

from rs1broker.client_info import ClientInfo, PublishedMessage

UNDEFINED = "undefined"
EXPIRY_AFTER_CLEAN_START_FALSE = 7200  # EMQX's default session expiry for MQTT 3.1.1, seconds


def _basics(event: str, node: str, rule_id: str, timestamp: int) -> dict[str, Any]:
    return {"event": event, "timestamp": timestamp, "node": node, "metadata": {"rule_id": rule_id}}


def message_publish(msg: PublishedMessage, node: str, rule_id: str, now: int) -> dict[str, Any]:
    return {
        "id": msg.id,
        "clientid": msg.clientid,
        "username": msg.username or UNDEFINED,
        "payload": msg.payload.decode("utf-8", errors="replace"),
        "peerhost": msg.peerhost,
        "peername": msg.peername,
        "topic": msg.topic,
        "qos": msg.qos,
        "flags": {"retain": msg.retain, "dup": msg.dup},
        "pub_props": {},
        "publish_received_at": msg.received_at,
        "client_attrs": {},
        **_basics("message.publish", node, rule_id, now),
    }


def client_connected(client: ClientInfo, node: str, rule_id: str, now: int) -> dict[str, Any]:
    return {
        "clientid": client.clientid,
        "username": client.username or UNDEFINED,
        "mountpoint": UNDEFINED,
        "peername": client.peername,
        "sockname": client.sockname,
        "proto_name": client.proto_name,
        "proto_ver": client.proto_ver,
        "keepalive": client.keepalive,
        "clean_start": client.clean_start,
        "expiry_interval": 0 if client.clean_start else EXPIRY_AFTER_CLEAN_START_FALSE,
        "is_bridge": False,
        "conn_props": {},
        "connected_at": client.connected_at,
        "client_attrs": {},
        **_basics("client.connected", node, rule_id, now),
    }


def client_disconnected(
    client: ClientInfo, reason: str, disconnected_at: int, node: str, rule_id: str, now: int
) -> dict[str, Any]:
    return {
        "reason": reason,
        "clientid": client.clientid,
        "username": client.username or UNDEFINED,
        "peername": client.peername,
        "sockname": client.sockname,
        "proto_name": client.proto_name,
        "proto_ver": client.proto_ver,
        "disconn_props": {},
        "disconnected_at": disconnected_at,
        "client_attrs": {},
        **_basics("client.disconnected", node, rule_id, now),
    }
