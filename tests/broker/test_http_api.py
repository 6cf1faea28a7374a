"""Rule 5: EMQX 5's HTTP API as the Workers use it — publish, bulk publish, kick — with
Basic auth from API keys."""

import base64
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from broker.constants import API_KEY
from broker.mqtt_clients import MqttClient
from broker.webhook_recorder import RecordingWebhookServer
from rs1broker import BrokerSettings, LocalBroker
from rs1broker.api_keys import ApiKey, ApiKeys

TRIGGER = "opticworks/rs1-0001/ota/trigger"
NO_SUBSCRIBERS = {"reason_code": 16, "message": "no_matching_subscribers"}


@pytest.fixture
def api(broker: LocalBroker) -> Iterator[httpx.Client]:
    auth = (API_KEY.key, API_KEY.secret)
    with httpx.Client(base_url=broker.api_url, auth=auth, timeout=5) as client:
        yield client


@pytest.fixture
def device(mqtt: Callable[..., MqttClient]) -> MqttClient:
    client = mqtt("rs1-0001")
    client.connect()
    assert client.subscribe(TRIGGER, qos=1) == 1
    return client


def test_publish_to_a_subscriber_is_200_with_an_id(api: httpx.Client, device: MqttClient) -> None:
    body = {"topic": TRIGGER, "payload": '{"version":"1.2.0"}', "qos": 1, "retain": False}
    response = api.post("/api/v5/publish", json=body)
    assert response.status_code == 200
    assert set(response.json()) == {"id"} and len(response.json()["id"]) == 32
    message = device.next_message()
    assert message is not None
    assert (message.topic, message.payload) == (TRIGGER, b'{"version":"1.2.0"}')


def test_publish_without_subscribers_is_202(api: httpx.Client) -> None:
    response = api.post("/api/v5/publish", json={"topic": TRIGGER, "payload": "x"})
    assert response.status_code == 202
    assert response.json() == NO_SUBSCRIBERS


def test_base64_payload(api: httpx.Client, device: MqttClient) -> None:
    encoded = base64.b64encode(b"\x00\x01binary").decode()
    body = {"topic": TRIGGER, "payload": encoded, "payload_encoding": "base64", "properties": {}}
    assert api.post("/api/v5/publish", json=body).status_code == 200
    message = device.next_message()
    assert message is not None and message.payload == b"\x00\x01binary"


@pytest.mark.parametrize(
    "body",
    [
        {"topic": "opticworks/+/ota/trigger", "payload": "x"},
        {"topic": "opticworks/#", "payload": "x"},
        {"topic": "", "payload": "x"},
        {"payload": "x"},
        {"topic": TRIGGER},
        {"topic": TRIGGER, "payload": "x", "qos": 3},
        {"topic": TRIGGER, "payload": "x", "retain": "yes"},
        {"topic": TRIGGER, "payload": "%%%", "payload_encoding": "base64"},
        {"topic": TRIGGER, "payload": "x", "payload_encoding": "hex"},
        [],
    ],
)
def test_bad_requests_are_400(api: httpx.Client, body: object) -> None:
    response = api.post("/api/v5/publish", json=body)
    assert response.status_code == 400
    assert response.json()["code"] == "BAD_REQUEST"


def test_non_json_body_is_400(api: httpx.Client) -> None:
    response = api.post("/api/v5/publish", content=b"{nope")
    assert response.status_code == 400


@pytest.mark.parametrize(
    "auth", [None, ("rs1-workers", "wrong"), ("someone", "test-api-secret")], ids=str
)
def test_missing_or_wrong_key_is_401(broker: LocalBroker, auth: tuple[str, str] | None) -> None:
    body = {"topic": TRIGGER, "payload": "x"}
    response = httpx.post(f"{broker.api_url}/api/v5/publish", json=body, auth=auth, timeout=5)
    assert response.status_code == 401
    assert response.json()["code"] == "BAD_API_KEY_OR_SECRET"


def test_bulk_all_delivered_is_200(api: httpx.Client, device: MqttClient) -> None:
    body = [{"topic": TRIGGER, "payload": "a"}, {"topic": TRIGGER, "payload": "b"}]
    response = api.post("/api/v5/publish/bulk", json=body)
    assert response.status_code == 200
    replies = response.json()
    assert len(replies) == 2 and all(set(r) == {"id"} for r in replies)
    received = [device.next_message(), device.next_message()]
    assert sorted(m.payload for m in received if m) == [b"a", b"b"]


def test_bulk_some_without_subscribers_is_202(api: httpx.Client, device: MqttClient) -> None:
    body = [
        {"topic": TRIGGER, "payload": "a"},
        {"topic": "opticworks/rs1-0002/ota/trigger", "payload": "b"},
    ]
    response = api.post("/api/v5/publish/bulk", json=body)
    assert response.status_code == 202
    first, second = response.json()
    assert set(first) == {"id"} and second == NO_SUBSCRIBERS


def test_bulk_with_a_bad_item_is_400(api: httpx.Client) -> None:
    body = [{"topic": TRIGGER, "payload": "a"}, {"topic": "a/#", "payload": "b"}]
    assert api.post("/api/v5/publish/bulk", json=body).status_code == 400


def test_kick_unknown_client_is_404(api: httpx.Client) -> None:
    response = api.delete("/api/v5/clients/nobody")
    assert response.status_code == 404
    assert response.json()["code"] == "CLIENTID_NOT_FOUND"


def test_kick_ends_the_session(
    api: httpx.Client, device: MqttClient, webhooks: RecordingWebhookServer
) -> None:
    assert api.delete("/api/v5/clients/rs1-0001").status_code == 204
    assert device.disconnected.wait(5)
    assert webhooks.wait_for("/webhook/device-offline")[0].json()["reason"] == "kicked"
    assert api.delete("/api/v5/clients/rs1-0001").status_code == 404
    assert api.post("/api/v5/publish", json={"topic": TRIGGER, "payload": "x"}).status_code == 202


def test_api_publishes_skip_authorization(
    api: httpx.Client, device: MqttClient, webhooks: RecordingWebhookServer
) -> None:
    before = len(webhooks.requests("/webhook/mqtt-acl"))
    assert api.post("/api/v5/publish", json={"topic": TRIGGER, "payload": "x"}).status_code == 200
    assert device.next_message() is not None
    assert len(webhooks.requests("/webhook/mqtt-acl")) == before


def test_keys_come_from_env_and_the_bootstrap_file_with_roles(
    settings: BrokerSettings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    keys_file = tmp_path / "api_keys.txt"
    keys_file.write_text("# comment\nadmin-key:admin-secret\nview-key:view-secret:viewer\n")
    monkeypatch.setenv("EMQX_API_KEY", "env-key:env-secret")
    with LocalBroker(replace(settings, api_key_file=keys_file), mqtt_port=0, api_port=0) as broker:
        url = f"{broker.api_url}/api/v5/publish"
        body = {"topic": TRIGGER, "payload": "x"}
        for auth, status in [
            (("admin-key", "admin-secret"), 202),
            (("env-key", "env-secret"), 202),
            (("view-key", "view-secret"), 403),  # a viewer may not publish
            (("admin-key", "view-secret"), 401),
        ]:
            assert httpx.post(url, json=body, auth=auth, timeout=5).status_code == status


def test_key_lines_are_parsed_like_emqx() -> None:
    keys = ApiKeys([ApiKey("k", "s", "publisher")])
    assert keys.role_of("k", "s") == "publisher"
    assert keys.role_of("k", "S") is None
    assert keys.role_of("x", "s") is None


def test_status_needs_no_key(broker: LocalBroker) -> None:
    response = httpx.get(f"{broker.api_url}/status", timeout=5)
    assert response.status_code == 200
    assert "EMQX-compatible local broker" in response.text
