"""Rule 4 (message.publish): rules forward accepted publishes to the HTTP actions with the
JSON EMQX 5 sends. Retries, drops, ordering and metrics: test_delivery.py."""

import re
import time
from collections.abc import Callable

import pytest
from broker.constants import WEBHOOK_SECRET
from broker.mqtt_clients import MqttClient
from broker.webhook_recorder import RecordingWebhookServer

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
