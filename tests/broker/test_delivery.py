"""Rule actions deliver as EMQX 5 does (emqx/README.md, "Delivery semantics"): which answers
are retried or dropped, the buffer worker's retries until request_ttl, EMQX's counters on
the metrics endpoints, rs1's deliberate reordering and the ledger tap."""

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from broker.constants import API_KEY
from broker.mqtt_clients import MqttClient
from broker.webhook_recorder import RecordingWebhookServer, Reply
from hypothesis import given
from hypothesis import strategies as st
from rs1broker import BrokerSettings, LocalBroker
from rs1broker.connector import classify

TELEMETRY = "/webhook/telemetry"
ACTION = "http:rs1_telemetry"
TOPIC = "opticworks/rs1-0500/telemetry"
Start = Callable[..., LocalBroker]


@given(st.integers(min_value=100, max_value=599))
def test_only_2xx_succeeds_and_only_429_503_are_retried(status: int) -> None:
    expected = "success" if 200 <= status < 300 else "retry" if status in (429, 503) else "drop"
    assert classify(status) == expected


def _fast(settings: BrokerSettings, tmp_path: Path | None = None, **opts: Any) -> BrokerSettings:
    """rs1_telemetry with a short request_ttl and retry interval (and a ledger file)."""
    opts = {"request_ttl": 1.0, "resume_interval": 0.25, **opts}
    action = replace(settings.actions[ACTION], **opts)
    ledger = tmp_path / "ledger.jsonl" if tmp_path else None
    return replace(settings, actions={**settings.actions, ACTION: action}, ledger_file=ledger)


@pytest.fixture
def device() -> Iterator[Callable[[LocalBroker], MqttClient]]:
    made: list[MqttClient] = []

    def make(broker: LocalBroker) -> MqttClient:
        client = MqttClient(broker.mqtt_port, "rs1-0500", "rs1-0500", "pw")
        client.connect()
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


def _get(broker: LocalBroker, path: str) -> Any:
    auth = (API_KEY.key, API_KEY.secret)
    response = httpx.get(f"{broker.api_url}{path}", auth=auth, timeout=5)
    assert response.status_code == 200, response.text
    return response.json()


def _action(broker: LocalBroker) -> dict[str, Any]:
    return _get(broker, f"/api/v5/actions/{ACTION}/metrics")


def _wait_metric(broker: LocalBroker, name: str, value: int, timeout: float = 5.0) -> None:
    """Wait until the action's counter `name` reaches `value`."""
    deadline = time.monotonic() + timeout
    while _action(broker)["metrics"][name] < value:
        assert time.monotonic() < deadline, f"{name}: {_action(broker)['metrics']}"
        time.sleep(0.05)


def _ledger(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.mark.parametrize("status", [500, 502, 504, 400, 413])
def test_other_statuses_are_dropped_at_once_and_counted_failed(
    status: int,
    start_broker: Start,
    settings: BrokerSettings,
    webhooks: RecordingWebhookServer,
    device: Callable[[LocalBroker], MqttClient],
    tmp_path: Path,
) -> None:
    webhooks.script(TELEMETRY, Reply(status=status))
    broker = start_broker(_fast(settings, tmp_path))
    device(broker).publish(TOPIC, '{"message_id": "m-1"}', qos=1)
    _wait_metric(broker, "failed", 1)
    time.sleep(0.6)  # past two retry intervals: nothing is sent again
    assert len(webhooks.requests(TELEMETRY)) == 1
    body = _action(broker)
    assert body["metrics"]["matched"] == 1 and body["metrics"]["retried"] == 0
    assert body["rs1"]["replies"] == {str(status): 1}
    broker.stop()
    failed = [e for e in _ledger(tmp_path / "ledger.jsonl") if e["kind"] == "action_failed"]
    assert [(e["reason"], e["message_id"], e["rule"]) for e in failed] == [
        (f"http_{status}", "m-1", "rs1_telemetry_forward")
    ]


@pytest.mark.parametrize("status", [429, 503])
def test_429_503_are_retried_until_request_ttl_then_dropped_expired(
    status: int,
    start_broker: Start,
    settings: BrokerSettings,
    webhooks: RecordingWebhookServer,
    device: Callable[[LocalBroker], MqttClient],
) -> None:
    webhooks.script(TELEMETRY, Reply(status=status))
    broker = start_broker(_fast(settings))
    device(broker).publish(TOPIC, "x", qos=1)
    _wait_metric(broker, "dropped.expired", 1)
    attempts = webhooks.requests(TELEMETRY)
    # 3 at once (the connector), then one per retry interval until request_ttl (1 s).
    assert attempts[2].at - attempts[0].at < 0.2
    assert 5 <= len(attempts) <= 7
    metrics = _action(broker)["metrics"]
    assert (metrics["dropped"], metrics["failed"], metrics["success"]) == (1, 0, 0)
    rule = _get(broker, "/api/v5/rules/rs1_telemetry_forward/metrics")["metrics"]
    assert (rule["actions.total"], rule["actions.failed"], rule["actions.success"]) == (1, 1, 0)


def test_connection_refused_is_retried_then_dropped_expired(
    start_broker: Start, settings: BrokerSettings, device: Callable[[LocalBroker], MqttClient]
) -> None:
    custom = _fast(settings, url="http://127.0.0.1:9/webhook/telemetry")  # port 9: refused
    broker = start_broker(custom)
    device(broker).publish(TOPIC, "x", qos=1)
    _wait_metric(broker, "dropped.expired", 1)
    # 3 at once, then each retry is one ehttpc call with up to 3 attempts.
    assert _action(broker)["rs1"]["replies"]["econnrefused"] >= 6


def test_success_after_503_counts_retried_success(
    start_broker: Start,
    settings: BrokerSettings,
    webhooks: RecordingWebhookServer,
    device: Callable[[LocalBroker], MqttClient],
) -> None:
    webhooks.script(TELEMETRY, *[Reply(status=503)] * 3, Reply(body={}))
    broker = start_broker(_fast(settings))
    device(broker).publish(TOPIC, "x", qos=1)
    _wait_metric(broker, "success", 1)
    body = _action(broker)
    metrics = body["metrics"]
    assert (metrics["retried"], metrics["retried.success"], metrics["dropped"]) == (1, 1, 0)
    assert body["rs1"]["replies"] == {"503": 3, "200": 1}


def test_a_timeout_uses_request_ttl_per_attempt_and_ends_as_late_reply(
    start_broker: Start,
    settings: BrokerSettings,
    webhooks: RecordingWebhookServer,
    device: Callable[[LocalBroker], MqttClient],
) -> None:
    webhooks.script(TELEMETRY, Reply(body={}, delay=0.8))
    broker = start_broker(_fast(settings, request_ttl=0.4))
    device(broker).publish(TOPIC, "x", qos=1)
    _wait_metric(broker, "late_reply", 1)
    body = _action(broker)
    assert len(webhooks.requests(TELEMETRY)) == 3
    assert body["rs1"]["replies"] == {"timeout": 3}
    assert body["metrics"]["dropped"] == 0  # EMQX: late_reply is not a dropped.* counter


def test_deliveries_are_reordered_but_all_arrive(
    start_broker: Start,
    settings: BrokerSettings,
    webhooks: RecordingWebhookServer,
    device: Callable[[LocalBroker], MqttClient],
) -> None:
    broker = start_broker(replace(settings, reorder_seed=7))
    client = device(broker)
    for n in range(30):
        client.publish(TOPIC, str(n))
    payloads = [r.json()["payload"] for r in webhooks.wait_for(TELEMETRY, 30, timeout=10)]
    assert sorted(payloads, key=int) == [str(n) for n in range(30)]
    assert payloads != [str(n) for n in range(30)], "a seeded shuffle swaps some"
    _wait_metric(broker, "success", 30)


def test_queue_full_drops_the_oldest(
    start_broker: Start,
    settings: BrokerSettings,
    webhooks: RecordingWebhookServer,
    device: Callable[[LocalBroker], MqttClient],
) -> None:
    webhooks.script(TELEMETRY, Reply(status=503))
    custom = _fast(settings, request_ttl=5.0, worker_pool_size=1, inflight_window=1)
    broker = start_broker(replace(custom, actions={
        **custom.actions, ACTION: replace(custom.actions[ACTION], max_buffer_bytes=1500),
    }))  # fmt: skip
    client = device(broker)
    for n in range(5):
        client.publish(TOPIC, f"{n:0>400}")
    _wait_metric(broker, "dropped.queue_full", 1)
    metrics = _action(broker)["metrics"]
    # One job is in flight (window 1, blocked on 503s); the queue keeps what fits in 1500 B.
    assert metrics["inflight"] == 1 and metrics["queuing_bytes"] <= 1500
    assert metrics["queuing"] + metrics["dropped.queue_full"] == 4


def test_metrics_endpoints_have_emqx_shapes(
    broker: LocalBroker, mqtt: Callable[..., MqttClient], webhooks: RecordingWebhookServer
) -> None:
    client = mqtt("rs1-0501")
    client.connect()
    client.publish("opticworks/rs1-0501/telemetry", "x", qos=1)
    webhooks.wait_for(TELEMETRY)
    _wait_metric(broker, "success", 1)
    action = _action(broker)
    assert set(action) == {"id", "metrics", "node_metrics", "rs1"}
    assert {
        "matched", "success", "failed", "dropped", "dropped.expired", "dropped.queue_full",
        "dropped.other", "retried", "retried.success", "retried.failed", "late_reply",
        "inflight", "queuing", "received",
    } <= set(action["metrics"])  # fmt: skip
    assert action["node_metrics"] == [{"node": "emqx@127.0.0.1", "metrics": action["metrics"]}]
    rule = _get(broker, "/api/v5/rules/rs1_telemetry_forward/metrics")
    assert rule["metrics"]["matched"] == rule["metrics"]["passed"] == 1
    assert rule["metrics"]["actions.success"] == rule["metrics"]["actions.total"] == 1
    (node,) = _get(broker, "/api/v5/metrics")
    assert node["node"] == "emqx@127.0.0.1"
    assert node["client.connected"] == 1 and node["authentication.success"] == 1
    assert node["messages.received"] == 1 and node["authorization.allow"] == 1
    assert node["messages.dropped"] == 1  # no subscriber: EMQX counts it, rules or not
    auth = (API_KEY.key, API_KEY.secret)
    missing = httpx.get(f"{broker.api_url}/api/v5/rules/nope/metrics", auth=auth, timeout=5)
    assert missing.status_code == 404


def test_ledger_records_shutdown_losses_and_ends_with_metrics(
    start_broker: Start,
    settings: BrokerSettings,
    webhooks: RecordingWebhookServer,
    device: Callable[[LocalBroker], MqttClient],
    tmp_path: Path,
) -> None:
    webhooks.script(TELEMETRY, Reply(status=503))
    broker = start_broker(_fast(settings, tmp_path, request_ttl=60.0, resume_interval=30.0))
    client = device(broker)
    client.publish(TOPIC, '{"message_id": "m-7"}', qos=1)
    client.publish(TOPIC, "not json", qos=1)
    webhooks.wait_for(TELEMETRY, 6)
    client.close()
    broker.stop()
    entries = _ledger(tmp_path / "ledger.jsonl")
    lost = [e for e in entries if e["kind"] == "action_dropped"]
    assert sorted((e["reason"], e["message_id"] or "") for e in lost) == [
        ("shutdown", ""), ("shutdown", "m-7")
    ]  # fmt: skip
    assert all(e["action"] == ACTION and e["clientid"] == "rs1-0500" for e in lost)
    final = entries[-1]
    assert final["kind"] == "metrics" and set(final) >= {"at", "actions", "rules", "node"}
    assert final["actions"][ACTION]["matched"] == 2
    assert final["actions"][ACTION]["rs1"]["lost_at_shutdown"] == 2
    assert final["node"]["client.connected"] == 1


def test_authz_non_200_is_nomatch_deny_and_cached_for_the_connection(
    start_broker: Start,
    settings: BrokerSettings,
    webhooks: RecordingWebhookServer,
    device: Callable[[LocalBroker], MqttClient],
    tmp_path: Path,
) -> None:
    webhooks.script("/webhook/mqtt-acl", Reply(status=503))
    broker = start_broker(_fast(settings, tmp_path))
    client = device(broker)
    client.publish(TOPIC, '{"message_id": "a"}', qos=1)
    webhooks.wait_for("/webhook/mqtt-acl")
    webhooks.script("/webhook/mqtt-acl", Reply(body={"result": "allow"}))  # outage over
    client.publish(TOPIC, '{"message_id": "b"}', qos=1)  # still denied: the cached answer
    client.publish("opticworks/rs1-0500/state", "s", qos=1)  # another topic: asked again
    webhooks.wait_for("/webhook/device-state")
    assert len(webhooks.requests("/webhook/mqtt-acl")) == 2
    assert webhooks.requests(TELEMETRY) == []
    (node,) = _get(broker, "/api/v5/metrics")
    assert (node["authorization.nomatch"], node["authorization.cache_hit"]) == (1, 1)
    assert node["authorization.deny"] == 2 and node["authorization.allow"] == 1
    broker.stop()
    denied = [e for e in _ledger(tmp_path / "ledger.jsonl") if e["kind"] == "authz_deny"]
    assert [(e["reason"], e["message_id"], e["topic"]) for e in denied] == [
        ("nomatch", "a", TOPIC), ("cache_hit:nomatch", "b", TOPIC)
    ]  # fmt: skip
    assert denied[0]["detail"] == "HTTP 503"
