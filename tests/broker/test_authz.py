"""Rule 3: HTTP authorization of every publish and subscribe, no_match = deny, the result
cache, and deny_action = ignore (a denied publish vanishes; the connection stays)."""

import time
from collections.abc import Callable
from dataclasses import replace

import pytest
from broker.mqtt_clients import MqttClient
from broker.webhook_recorder import RecordingWebhookServer, Reply
from rs1broker import BrokerSettings, LocalBroker

ACL = "/webhook/mqtt-acl"
TELEMETRY = "/webhook/telemetry"
DENY = Reply(body={"result": "deny"})
ALLOW = Reply(body={"result": "allow"})


def test_publish_request_body(
    mqtt: Callable[..., MqttClient], webhooks: RecordingWebhookServer
) -> None:
    device = mqtt("dev-a")
    device.connect()
    device.publish("opticworks/dev-a/state", '{"online":true}', qos=1, retain=True)
    (request,) = webhooks.wait_for(ACL)
    assert request.json() == {
        "username": "dev-a",
        "clientid": "dev-a",
        "peerhost": "127.0.0.1",
        "action": "publish",
        "topic": "opticworks/dev-a/state",
        "qos": "1",
        "retain": "true",
    }
    assert request.headers["x-webhook-secret"]


def test_subscribe_sends_the_filter_and_a_denial_is_suback_0x80(
    mqtt: Callable[..., MqttClient], webhooks: RecordingWebhookServer
) -> None:
    device = mqtt("dev-b")
    device.connect()
    webhooks.script(ACL, DENY)
    assert device.subscribe("opticworks/+/ota/trigger", qos=1) == 0x80
    body = webhooks.wait_for(ACL)[0].json()
    assert (body["action"], body["topic"], body["qos"], body["retain"]) == (
        "subscribe",
        "opticworks/+/ota/trigger",
        "1",
        "false",
    )
    assert not device.disconnected.is_set()


def _denied_publish_is_dropped(
    mqtt: Callable[..., MqttClient], webhooks: RecordingWebhookServer, denial: Reply
) -> None:
    listener = mqtt("listener")
    listener.connect()
    assert listener.subscribe("opticworks/#") == 0
    device = mqtt("dev-c")
    device.connect()
    # Both publishes are in flight before the first authz answer: the replies are scripted up
    # front (the PUBACK of each waits for its authorization, as in EMQX).
    webhooks.script(ACL, denial, ALLOW)
    device.publish("opticworks/dev-c/telemetry", "denied", qos=1)
    device.publish("opticworks/dev-c/telemetry/x", "allowed", qos=1)
    # Per-client order: once "allowed" is through, "denied" would have been before it.
    message = listener.next_message()
    assert message is not None and message.payload == b"allowed"
    forwarded = webhooks.wait_for(TELEMETRY)
    assert [r.json()["payload"] for r in forwarded] == ["allowed"]
    assert listener.messages.empty()
    assert not device.disconnected.is_set(), "deny_action = ignore keeps the connection"


def test_denied_publish_is_dropped_silently(
    mqtt: Callable[..., MqttClient], webhooks: RecordingWebhookServer
) -> None:
    _denied_publish_is_dropped(mqtt, webhooks, DENY)


@pytest.mark.parametrize(
    "reply",
    [
        Reply(status=500),
        Reply(body={"result": "ignore"}),
        Reply(status=404, body={"result": "allow"}),
        Reply(body=b"allow", content_type="text/plain"),
    ],
    ids=["500", "ignore", "404", "text"],
)
def test_no_match_is_deny(
    reply: Reply, mqtt: Callable[..., MqttClient], webhooks: RecordingWebhookServer
) -> None:
    _denied_publish_is_dropped(mqtt, webhooks, reply)


def test_204_allows(mqtt: Callable[..., MqttClient], webhooks: RecordingWebhookServer) -> None:
    webhooks.script(ACL, Reply(status=204))
    device = mqtt("dev-d")
    device.connect()
    assert device.subscribe("opticworks/dev-d/ota/trigger", qos=1) == 1
    device.publish("opticworks/dev-d/telemetry", "x", qos=1)
    assert webhooks.wait_for(TELEMETRY)[0].json()["payload"] == "x"


def test_results_are_cached_per_client_action_topic_qos_retain(
    start_broker: Callable[..., LocalBroker],
    settings: BrokerSettings,
    webhooks: RecordingWebhookServer,
) -> None:
    broker = start_broker(replace(settings, authz=replace(settings.authz, cache_ttl=0.6)))
    device = MqttClient(broker.mqtt_port, "dev-e", "dev-e", "pw")
    try:
        device.connect()
        topic = "opticworks/dev-e/telemetry"
        for _ in range(3):
            device.publish(topic, "same", qos=1)
        device.publish(topic, "other qos", qos=0)
        device.publish(topic, "other retain", qos=1, retain=True)
        webhooks.wait_for(TELEMETRY, 5)
        keys = [(b["qos"], b["retain"]) for b in (r.json() for r in webhooks.requests(ACL))]
        assert keys == [("1", "false"), ("0", "false"), ("1", "true")]
        time.sleep(0.7)  # past the ttl: asked again
        device.publish(topic, "after ttl", qos=1)
        webhooks.wait_for(TELEMETRY, 6)
        assert len(webhooks.requests(ACL)) == 4
    finally:
        device.close()


def test_cache_disabled_asks_every_time(
    start_broker: Callable[..., LocalBroker],
    settings: BrokerSettings,
    webhooks: RecordingWebhookServer,
) -> None:
    broker = start_broker(replace(settings, authz=replace(settings.authz, cache_enabled=False)))
    device = MqttClient(broker.mqtt_port, "dev-f", "dev-f", "pw")
    try:
        device.connect()
        for _ in range(3):
            device.publish("opticworks/dev-f/telemetry", "x", qos=1)
        webhooks.wait_for(TELEMETRY, 3)
        assert len(webhooks.requests(ACL)) == 3
    finally:
        device.close()


def test_a_cached_denial_is_still_dropped(
    mqtt: Callable[..., MqttClient], webhooks: RecordingWebhookServer
) -> None:
    device = mqtt("dev-g")
    device.connect()
    webhooks.script(ACL, DENY, ALLOW)  # the cache keeps saying deny for the first topic
    device.publish("opticworks/dev-g/telemetry", "1", qos=1)
    device.publish("opticworks/dev-g/telemetry", "2", qos=1)
    device.publish("opticworks/dev-g/state", "3", qos=1)
    assert webhooks.wait_for("/webhook/device-state")[0].json()["payload"] == "3"
    assert webhooks.requests(TELEMETRY) == []
    assert len(webhooks.requests(ACL)) == 2


def test_deny_action_disconnect_closes_with_not_authorized(
    start_broker: Callable[..., LocalBroker],
    settings: BrokerSettings,
    webhooks: RecordingWebhookServer,
) -> None:
    strict = replace(settings.authz, deny_action="disconnect")
    broker = start_broker(replace(settings, authz=strict))
    webhooks.script(ACL, DENY)
    device = MqttClient(broker.mqtt_port, "dev-h", "dev-h", "pw")
    try:
        device.connect()
        # EMQX gives no PUBACK to a publish it disconnects over: do not wait for one.
        sent = device.paho.publish("opticworks/dev-h/telemetry", "x", qos=1)
        assert device.disconnected.wait(5)
        assert not sent.is_published()
        offline = webhooks.wait_for("/webhook/device-offline")[0].json()
        assert offline["reason"] == "not_authorized"
    finally:
        device.close()
