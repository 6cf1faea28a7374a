"""Rule 4 (message.publish): rules forward accepted publishes to the HTTP actions with the
JSON EMQX 5 sends, retry failures, and keep each client's order."""

import re
import time
from collections.abc import Callable
from dataclasses import replace

import pytest
from broker.constants import WEBHOOK_SECRET
from broker.mqtt_clients import MqttClient
from broker.webhook_recorder import RecordingWebhookServer, Reply
from rs1broker import BrokerSettings, LocalBroker

TELEMETRY = "/webhook/telemetry"


def test_publish_output_is_emqx_message_publish(
    mqtt: Callable[..., MqttClient], webhooks: RecordingWebhookServer
) -> None:
    device = mqtt("rs1-0001")
    device.connect()
    before = int(time.time() * 1000)
    device.publish("opticworks/rs1-0001/telemetry/presence", '{"count": 2}', qos=1)
    (request,) = webhooks.wait_for(TELEMETRY)
    assert request.method == "POST"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["x-webhook-secret"] == WEBHOOK_SECRET
    body = request.json()
    assert set(body) == {
        "id", "clientid", "username", "payload", "peerhost", "peername", "topic", "qos",
        "flags", "pub_props", "timestamp", "publish_received_at", "node", "client_attrs",
        "event", "metadata",
    }  # fmt: skip
    assert re.fullmatch(r"[0-9A-F]{32}", body["id"])
    assert body["clientid"] == body["username"] == "rs1-0001"
    assert body["payload"] == '{"count": 2}'  # the raw payload, as a string
    assert body["peerhost"] == "127.0.0.1"
    assert re.fullmatch(r"127\.0\.0\.1:\d+", body["peername"])
    assert body["topic"] == "opticworks/rs1-0001/telemetry/presence"
    assert body["qos"] == 1
    assert body["flags"] == {"retain": False, "dup": False}
    assert body["pub_props"] == {} and body["client_attrs"] == {}
    assert before <= body["publish_received_at"] <= body["timestamp"] <= before + 5000
    assert body["node"] == "emqx@127.0.0.1"
    assert body["event"] == "message.publish"
    assert body["metadata"] == {"rule_id": "rs1_telemetry_forward"}


def test_username_undefined_and_retain_flag(
    mqtt: Callable[..., MqttClient], webhooks: RecordingWebhookServer
) -> None:
    device = mqtt("rs1-0002", username=None)
    device.connect()
    device.publish("opticworks/rs1-0002/state", '{"online": true}', qos=0, retain=True)
    body = webhooks.wait_for("/webhook/device-state")[0].json()
    assert body["username"] == "undefined"
    assert (body["qos"], body["flags"]) == (0, {"retain": True, "dup": False})
    assert body["metadata"]["rule_id"] == "rs1_state_forward"


@pytest.mark.parametrize(
    ("topic", "path"),
    [
        ("opticworks/rs1-0003/telemetry", TELEMETRY),
        ("opticworks/rs1-0003/telemetry/a/b", TELEMETRY),
        ("opticworks/rs1-0003/state", "/webhook/device-state"),
        ("opticworks/rs1-0003/ota/status", "/webhook/ota-status"),
        ("opticworks/rs1-0003/config/status", "/webhook/config-status"),
    ],
)
def test_each_rule_reaches_its_action(
    topic: str, path: str, mqtt: Callable[..., MqttClient], webhooks: RecordingWebhookServer
) -> None:
    device = mqtt("rs1-0003")
    device.connect()
    device.publish("opticworks/rs1-0003/unrouted", "no rule", qos=1)
    device.publish(topic, "routed", qos=1)
    assert webhooks.wait_for(path)[0].json()["topic"] == topic
    forwarded = [r for r in webhooks.requests() if r.path.startswith("/webhook/") and r.body]
    assert all(r.json().get("payload") != "no rule" for r in forwarded)


def test_failures_are_retried_up_to_three_attempts(
    mqtt: Callable[..., MqttClient], webhooks: RecordingWebhookServer
) -> None:
    webhooks.script(TELEMETRY, Reply(status=503), Reply(status=500), Reply(body={}))
    device = mqtt("rs1-0004")
    device.connect()
    device.publish("opticworks/rs1-0004/telemetry", "x", qos=1)
    attempts = webhooks.wait_for(TELEMETRY, 3)
    assert len({r.json()["id"] for r in attempts}) == 1, "a retry resends the same message"


def test_retries_stop_after_three_attempts(
    mqtt: Callable[..., MqttClient], webhooks: RecordingWebhookServer
) -> None:
    webhooks.script(TELEMETRY, Reply(status=500))
    device = mqtt("rs1-0005")
    device.connect()
    device.publish("opticworks/rs1-0005/telemetry", "x", qos=1)
    device.publish("opticworks/rs1-0005/state", "after", qos=1)
    # The state message shares the client's queue, so it comes after the last attempt.
    webhooks.wait_for("/webhook/device-state")
    assert len(webhooks.requests(TELEMETRY)) == 3  # EMQX: 3 attempts, max_retries unread


def test_4xx_is_not_retried(
    mqtt: Callable[..., MqttClient], webhooks: RecordingWebhookServer
) -> None:
    webhooks.script(TELEMETRY, Reply(status=400, body={"error": "invalid_payload"}))
    device = mqtt("rs1-0006")
    device.connect()
    device.publish("opticworks/rs1-0006/telemetry", "not json", qos=1)
    device.publish("opticworks/rs1-0006/state", "after", qos=1)
    webhooks.wait_for("/webhook/device-state")
    assert len(webhooks.requests(TELEMETRY)) == 1


def test_timeouts_are_retried(
    start_broker: Callable[..., LocalBroker],
    settings: BrokerSettings,
    webhooks: RecordingWebhookServer,
) -> None:
    action = replace(settings.actions["http:rs1_telemetry"], request_timeout=0.3)
    broker = start_broker(replace(settings, actions={**settings.actions, action.name: action}))
    webhooks.script(TELEMETRY, Reply(body={}, delay=1.0), Reply(body={}))
    device = MqttClient(broker.mqtt_port, "rs1-0007", "rs1-0007", "pw")
    try:
        device.connect()
        device.publish("opticworks/rs1-0007/telemetry", "x", qos=1)
        assert len(webhooks.wait_for(TELEMETRY, 2)) == 2
    finally:
        device.close()


def test_each_clients_order_is_kept(
    mqtt: Callable[..., MqttClient], webhooks: RecordingWebhookServer
) -> None:
    devices = [mqtt(f"rs1-01{i:02d}") for i in range(3)]
    for device in devices:
        device.connect()
    for n in range(40):
        for device in devices:
            device.publish(f"opticworks/{device.client_id}/telemetry", str(n))
    forwarded = [r.json() for r in webhooks.wait_for(TELEMETRY, 120, timeout=15)]
    for device in devices:
        clientid = device.client_id
        payloads = [b["payload"] for b in forwarded if b["clientid"] == clientid]
        assert payloads == [str(n) for n in range(40)]
