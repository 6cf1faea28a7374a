"""Broker contract tests: the EMQX-compatible local broker (emqx/rs1broker) on free ports,
a RecordingWebhookServer standing in for the Workers, and real MQTT clients.

Each test gets its own broker and recorder (both start in well under a second), so authz
caches, sessions and recorded requests never leak between tests.
"""

from collections.abc import Callable, Iterator

import pytest
from broker.constants import API_KEY, CONFIG, WEBHOOK_SECRET
from broker.mqtt_clients import MqttClient
from broker.webhook_recorder import RecordingWebhookServer
from rs1broker import BrokerSettings, LocalBroker, load_settings
from rs1broker.api_keys import ApiKeys


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "/broker/" in str(item.path):
            item.add_marker(pytest.mark.timeout(30))  # every broker test is bounded


@pytest.fixture
def webhooks() -> Iterator[RecordingWebhookServer]:
    server = RecordingWebhookServer().start()
    yield server
    server.stop()


@pytest.fixture
def settings(webhooks: RecordingWebhookServer) -> BrokerSettings:
    """emqx/emqx.conf as the local broker reads it, webhooks pointed at the recorder."""
    env = {"WEBHOOK_SECRET": WEBHOOK_SECRET, "RS1_WEBHOOK_BASE": webhooks.url}
    return load_settings(CONFIG, env)


@pytest.fixture
def start_broker(settings: BrokerSettings) -> Iterator[Callable[..., LocalBroker]]:
    started: list[LocalBroker] = []

    def start(custom: BrokerSettings | None = None, api_keys: ApiKeys | None = None) -> LocalBroker:
        keys = api_keys if api_keys is not None else ApiKeys([API_KEY])
        broker = LocalBroker(custom or settings, mqtt_port=0, api_port=0, api_keys=keys)
        started.append(broker.start())
        return broker

    yield start
    for broker in started:
        broker.stop()


@pytest.fixture
def broker(start_broker: Callable[..., LocalBroker]) -> LocalBroker:
    return start_broker()


@pytest.fixture
def mqtt(broker: LocalBroker) -> Iterator[Callable[..., MqttClient]]:
    """Make paho clients for `broker`; all are stopped before the broker is."""
    clients: list[MqttClient] = []

    def make(client_id: str, **kwargs: object) -> MqttClient:
        kwargs.setdefault("username", client_id)
        kwargs.setdefault("password", "device-password")
        client = MqttClient(broker.mqtt_port, client_id, **kwargs)  # type: ignore[arg-type]
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()
