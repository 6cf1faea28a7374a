"""Rule 6: one concise log line per refused connection, denied authorization, failed action."""

import logging
from collections.abc import Callable
from dataclasses import replace

import pytest
from broker.mqtt_clients import MqttClient
from broker.webhook_recorder import RecordingWebhookServer, Reply
from rs1broker import BrokerSettings, LocalBroker


def _lines(caplog: pytest.LogCaptureFixture, needle: str) -> list[str]:
    messages = [r.getMessage() for r in caplog.records if r.name == "rs1broker"]
    return [m for m in messages if needle in m]


def test_refused_connection_and_denied_authz_are_logged(
    mqtt: Callable[..., MqttClient],
    webhooks: RecordingWebhookServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="rs1broker")
    webhooks.script("/webhook/mqtt-auth", Reply(body={"result": "deny"}))
    mqtt("dev-a").connect()
    webhooks.script("/webhook/mqtt-auth", Reply(body={"result": "allow"}))
    webhooks.script("/webhook/mqtt-acl", Reply(body={"result": "deny"}))
    device = mqtt("dev-b")
    device.connect()
    assert device.subscribe("opticworks/dev-b/ota/trigger") == 0x80
    (refused,) = _lines(caplog, "refused connection")
    assert "clientid=dev-a" in refused and "deny" in refused
    (denied,) = _lines(caplog, "authz denied")
    assert "subscribe opticworks/dev-b/ota/trigger clientid=dev-b" in denied


def test_an_action_that_cannot_connect_is_retried_then_logged_once(
    start_broker: Callable[..., LocalBroker],
    settings: BrokerSettings,
    webhooks: RecordingWebhookServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="rs1broker")
    action = settings.actions["http:rs1_telemetry"]
    nowhere = replace(action, url="http://127.0.0.1:9/webhook/telemetry")  # port 9: refused
    broker = start_broker(replace(settings, actions={**settings.actions, action.name: nowhere}))
    device = MqttClient(broker.mqtt_port, "dev-c", "dev-c", "pw")
    try:
        device.connect()
        device.publish("opticworks/dev-c/telemetry", "x", qos=1)
        device.publish("opticworks/dev-c/state", "after", qos=1)
        webhooks.wait_for("/webhook/device-state")  # queued behind the failing action
    finally:
        device.close()
    (failed,) = _lines(caplog, "action http:rs1_telemetry failed")
    assert "after 3 attempts" in failed and "ConnectError" in failed
