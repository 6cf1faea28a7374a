"""Rule 2: HTTP authentication exactly as EMQX 5 does it, for each CONNECT."""

from collections.abc import Callable
from dataclasses import replace

import pytest
from broker.constants import WEBHOOK_SECRET
from broker.mqtt_clients import MqttClient
from broker.webhook_recorder import RecordingWebhookServer, Reply
from rs1broker import BrokerSettings, LocalBroker

AUTH = "/webhook/mqtt-auth"
NOT_AUTHORIZED = 135  # paho's MQTT 5 name for the 3.1.1 CONNACK code 5


def test_connect_posts_the_configured_body_and_headers(
    mqtt: Callable[..., MqttClient], webhooks: RecordingWebhookServer
) -> None:
    assert mqtt("dev-a", password="pw-1").connect().value == 0
    (request,) = webhooks.wait_for(AUTH)
    assert request.method == "POST"
    assert request.json() == {
        "username": "dev-a",
        "password": "pw-1",
        "clientid": "dev-a",
        "peerhost": "127.0.0.1",
    }
    assert request.headers["content-type"] == "application/json"
    assert request.headers["x-webhook-secret"] == WEBHOOK_SECRET


def test_missing_username_and_password_are_empty_strings(
    mqtt: Callable[..., MqttClient], webhooks: RecordingWebhookServer
) -> None:
    mqtt("anon", username=None).connect()
    body = webhooks.wait_for(AUTH)[0].json()
    assert (body["username"], body["password"], body["clientid"]) == ("", "", "anon")


@pytest.mark.parametrize(
    ("reply", "accepted"),
    [
        (Reply(body={"result": "allow", "is_superuser": False}), True),
        (Reply(status=204), True),
        (Reply(body={"result": "deny"}), False),
        (Reply(body={"result": "ignore"}), False),  # ignore from the only authenticator
        (Reply(body={"is_superuser": False}), False),  # missing result = ignore
        (Reply(body={"result": "maybe"}), False),
        (Reply(body=b"allow", content_type="text/plain"), False),  # not JSON
        (Reply(body=b"{not json"), False),
        (Reply(status=403, body={"result": "allow"}), False),  # 4xx body is not read
        (Reply(status=500), False),
    ],
    ids=["allow", "204", "deny", "ignore", "no-result", "other", "text", "bad-json", "403", "500"],
)
def test_reply_semantics(
    reply: Reply,
    accepted: bool,
    mqtt: Callable[..., MqttClient],
    webhooks: RecordingWebhookServer,
) -> None:
    webhooks.script(AUTH, reply)
    client = mqtt("dev-b")
    code = client.connect()
    if accepted:
        assert code.value == 0
    else:
        assert code.value == NOT_AUTHORIZED
        assert client.disconnected.wait(5), "a refused client is disconnected"


def test_timeout_is_ignore_and_refuses(
    start_broker: Callable[..., LocalBroker],
    settings: BrokerSettings,
    webhooks: RecordingWebhookServer,
) -> None:
    quick = replace(settings.authn[0], request_timeout=0.3)
    broker = start_broker(replace(settings, authn=(quick,)))
    webhooks.script(AUTH, Reply(body={"result": "allow"}, delay=1.0))
    client = MqttClient(broker.mqtt_port, "dev-slow", "dev-slow", "pw")
    try:
        assert client.connect().value == NOT_AUTHORIZED
    finally:
        client.close()


def test_refused_connect_leaves_the_existing_session_alone(
    mqtt: Callable[..., MqttClient], webhooks: RecordingWebhookServer
) -> None:
    device = mqtt("dev-c")
    device.connect()
    assert device.subscribe("opticworks/dev-c/ota/trigger") == 0
    webhooks.script(AUTH, Reply(body={"result": "deny"}))
    assert mqtt("dev-c", password="guess").connect().value == NOT_AUTHORIZED
    webhooks.script(AUTH, Reply(body={"result": "allow"}))
    sender = mqtt("dev-d")
    sender.connect()
    sender.publish("opticworks/dev-c/ota/trigger", "still here", qos=1)
    message = device.next_message()
    assert message is not None and message.payload == b"still here"
    assert not device.disconnected.is_set()


def test_superuser_skips_authorization(
    mqtt: Callable[..., MqttClient], webhooks: RecordingWebhookServer
) -> None:
    webhooks.script(AUTH, Reply(body={"result": "allow", "is_superuser": True}))
    webhooks.script("/webhook/mqtt-acl", Reply(body={"result": "deny"}))
    admin = mqtt("ops-console")
    admin.connect()
    assert admin.subscribe("opticworks/#") == 0
    admin.publish("opticworks/dev-e/telemetry", "{}", qos=1)
    assert webhooks.wait_for("/webhook/telemetry")[0].json()["clientid"] == "ops-console"
    assert webhooks.requests("/webhook/mqtt-acl") == []
