"""Rule 6: one concise log line per refused connection, denied authorization, failed action."""

import logging
import time
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


def test_an_action_that_cannot_connect_is_logged_once_when_dropped(
    start_broker: Callable[..., LocalBroker],
    settings: BrokerSettings,
    webhooks: RecordingWebhookServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="rs1broker")
    action = settings.actions["http:rs1_telemetry"]
    nowhere = replace(
        action,
        url="http://127.0.0.1:9/webhook/telemetry",  # port 9: refused
        request_ttl=0.5,
        resume_interval=0.1,
    )
    broker = start_broker(replace(settings, actions={**settings.actions, action.name: nowhere}))
    device = MqttClient(broker.mqtt_port, "dev-c", "dev-c", "pw")
    try:
        device.connect()
        device.publish("opticworks/dev-c/telemetry", "x", qos=1)
        deadline = time.monotonic() + 5
        while not _lines(caplog, "action http:rs1_telemetry") and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        device.close()
    (dropped,) = _lines(caplog, "action http:rs1_telemetry")
    assert "dropped (expired)" in dropped and "dev-c" in dropped
