"""Rule 4 (events): $events/client_connected and $events/client_disconnected outputs, with
EMQX's disconnect reasons."""

import re
import time
from collections.abc import Callable

import httpx
from broker.constants import API_KEY
from broker.mqtt_clients import MqttClient, raw_connect, raw_publish, wait_closed_by_peer
from broker.webhook_recorder import RecordingWebhookServer
from rs1broker import LocalBroker

CONNECTED = "/webhook/device-connected"
OFFLINE = "/webhook/device-offline"
PEER = re.compile(r"127\.0\.0\.1:\d+")


def _reasons(webhooks: RecordingWebhookServer, count: int) -> list[str]:
    return [r.json()["reason"] for r in webhooks.wait_for(OFFLINE, count)]


def test_connected_event(
    broker: LocalBroker, mqtt: Callable[..., MqttClient], webhooks: RecordingWebhookServer
) -> None:
    before = int(time.time() * 1000)
    mqtt("rs1-0001", keepalive=30).connect()
    body = webhooks.wait_for(CONNECTED)[0].json()
    assert set(body) == {
        "clientid", "username", "mountpoint", "peername", "sockname", "proto_name", "proto_ver",
        "keepalive", "clean_start", "expiry_interval", "is_bridge", "conn_props", "connected_at",
        "client_attrs", "event", "timestamp", "node", "metadata",
    }  # fmt: skip
    assert body["event"] == "client.connected"
    assert body["clientid"] == body["username"] == "rs1-0001"
    assert PEER.fullmatch(body["peername"])
    assert body["sockname"] == f"127.0.0.1:{broker.mqtt_port}"
    assert (body["proto_name"], body["proto_ver"]) == ("MQTT", 4)
    assert (body["keepalive"], body["clean_start"], body["expiry_interval"]) == (30, True, 0)
    assert before <= body["connected_at"] <= body["timestamp"] <= before + 5000
    assert body["node"] == "emqx@127.0.0.1"
    assert body["metadata"] == {"rule_id": "rs1_device_connected"}


def test_disconnect_packet_is_normal(
    broker: LocalBroker, mqtt: Callable[..., MqttClient], webhooks: RecordingWebhookServer
) -> None:
    device = mqtt("rs1-0002")
    device.connect()
    device.disconnect()
    (request,) = webhooks.wait_for(OFFLINE)
    body = request.json()
    assert set(body) == {
        "reason", "clientid", "username", "peername", "sockname", "proto_name", "proto_ver",
        "disconn_props", "disconnected_at", "client_attrs", "event", "timestamp", "node",
        "metadata",
    }  # fmt: skip
    assert (body["event"], body["reason"]) == ("client.disconnected", "normal")
    assert body["clientid"] == body["username"] == "rs1-0002"
    assert PEER.fullmatch(body["peername"])
    assert body["sockname"] == f"127.0.0.1:{broker.mqtt_port}"
    assert body["disconn_props"] == {}
    assert body["disconnected_at"] <= body["timestamp"]
    assert body["metadata"] == {"rule_id": "rs1_device_offline"}
    connected = webhooks.wait_for(CONNECTED)[0]
    assert connected.at <= request.at, "one client's events keep their order"


def test_dropped_socket_is_tcp_closed(
    broker: LocalBroker, webhooks: RecordingWebhookServer
) -> None:
    sock, code = raw_connect(broker.mqtt_port, "rs1-0003", "rs1-0003", "pw")
    assert code == 0
    webhooks.wait_for(CONNECTED)
    sock.close()
    assert _reasons(webhooks, 1) == ["tcp_closed"]


def test_silence_past_the_keepalive_is_keepalive_timeout(
    broker: LocalBroker, webhooks: RecordingWebhookServer
) -> None:
    sock, _ = raw_connect(broker.mqtt_port, "rs1-0004", "rs1-0004", "pw", keepalive=1)
    try:
        assert wait_closed_by_peer(sock, timeout=4), "closed after 1.5 x keepalive"
        assert _reasons(webhooks, 1) == ["keepalive_timeout"]
    finally:
        sock.close()


def test_api_kick_is_kicked(
    broker: LocalBroker, mqtt: Callable[..., MqttClient], webhooks: RecordingWebhookServer
) -> None:
    device = mqtt("rs1-0005")
    device.connect()
    url = f"{broker.api_url}/api/v5/clients/rs1-0005"
    response = httpx.delete(url, auth=(API_KEY.key, API_KEY.secret), timeout=5)
    assert response.status_code == 204
    assert device.disconnected.wait(5)
    assert _reasons(webhooks, 1) == ["kicked"]


def test_same_clientid_without_clean_start_is_takenover(
    mqtt: Callable[..., MqttClient], webhooks: RecordingWebhookServer
) -> None:
    first = mqtt("rs1-0006", clean_session=False)
    first.connect()
    assert first.subscribe("opticworks/rs1-0006/ota/trigger", qos=1) == 1
    second = mqtt("rs1-0006", clean_session=False)
    assert second.connect().value == 0
    assert first.disconnected.wait(5)
    assert _reasons(webhooks, 1) == ["takenover"]
    assert len(webhooks.wait_for(CONNECTED, 2)) == 2
    assert not second.disconnected.is_set()
    # The session (and its subscription) moved to the new connection.
    sender = mqtt("rs1-0106")
    sender.connect()
    sender.publish("opticworks/rs1-0006/ota/trigger", "resumed", qos=1)
    message = second.next_message()
    assert message is not None and message.payload == b"resumed"


def test_same_clientid_with_clean_start_is_discarded(
    mqtt: Callable[..., MqttClient], webhooks: RecordingWebhookServer
) -> None:
    first = mqtt("rs1-0007")
    first.connect()
    second = mqtt("rs1-0007")
    assert second.connect().value == 0
    assert first.disconnected.wait(5)
    assert _reasons(webhooks, 1) == ["discarded"]
    assert not second.disconnected.is_set()


def test_will_message_is_authorized_and_forwarded_on_abnormal_end(
    broker: LocalBroker, webhooks: RecordingWebhookServer
) -> None:
    will = ("opticworks/rs1-0008/state", '{"online": false}', 1)
    sock, _ = raw_connect(broker.mqtt_port, "rs1-0008", "rs1-0008", "pw", will=will)
    webhooks.wait_for(CONNECTED)
    sock.close()  # abrupt: no DISCONNECT, so the will is published
    state = webhooks.wait_for("/webhook/device-state")[0].json()
    assert state["payload"] == '{"online": false}' and state["clientid"] == "rs1-0008"
    acl = [r.json() for r in webhooks.requests("/webhook/mqtt-acl")]
    assert {"action": "publish", "topic": "opticworks/rs1-0008/state"}.items() <= acl[-1].items()


def test_no_will_after_a_normal_disconnect(
    mqtt: Callable[..., MqttClient], webhooks: RecordingWebhookServer
) -> None:
    device = mqtt("rs1-0009")
    device.paho.will_set("opticworks/rs1-0009/state", '{"online": false}', qos=1)
    device.connect()
    device.disconnect()
    assert _reasons(webhooks, 1) == ["normal"]
    assert webhooks.requests("/webhook/device-state") == []


def test_publish_to_an_empty_topic_is_a_protocol_error(
    broker: LocalBroker, webhooks: RecordingWebhookServer
) -> None:
    sock, _ = raw_connect(broker.mqtt_port, "rs1-0010", "rs1-0010", "pw")
    try:
        raw_publish(sock, "", b"x")
        assert wait_closed_by_peer(sock, timeout=5)
        assert _reasons(webhooks, 1) == ["protocol_error"]
    finally:
        sock.close()
