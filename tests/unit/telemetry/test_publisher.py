"""The one publisher check: telemetry ingestion and the other webhooks refuse alike."""

import asyncio

import pytest

from helpers import envelope
from rs1.errors import InvalidInput, TopicMismatch
from rs1.mqtt.webhook_models import PublishEnvelope
from rs1.telemetry.ingest import parse_envelope, to_row
from rs1.telemetry.publisher import publishing_device
from rs1.webhooks.envelope import checked_device

ME, OTHER = "a" * 32, "b" * 32


def published(topic_device: str, publisher: str = ME) -> PublishEnvelope:
    data = envelope(topic_device, "m-1")
    return parse_envelope({**data, "clientid": publisher, "username": publisher})


def test_the_topic_device_must_be_the_publisher() -> None:
    assert publishing_device(published(ME)) == ME
    with pytest.raises(TopicMismatch) as caught:
        publishing_device(published(OTHER))
    assert (caught.value.code, caught.value.message) == (
        "topic_mismatch",
        "The topic's device is not the publisher.",
    )


@pytest.mark.parametrize("topic", ["opticworks/not-a-device/state", "elsewhere/x/y", "a"])
def test_a_topic_naming_no_device_is_invalid(topic: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        publishing_device(published(ME).model_copy(update={"topic": topic}))
    assert caught.value.code == "invalid_topic"
    assert caught.value.message == f"Topic {topic!r} names no device."


def test_ingestion_and_the_webhooks_raise_the_same_error(services) -> None:
    mismatched = published(OTHER)
    with pytest.raises(TopicMismatch) as ingest:
        to_row(mismatched)
    with pytest.raises(TopicMismatch) as webhook:
        asyncio.run(checked_device(mismatched, services))
    assert (ingest.value.code, ingest.value.message) == (webhook.value.code, webhook.value.message)
    logged = asyncio.run(services.db.all("SELECT details FROM security_log"))
    assert len(logged) == 1 and "differs from publisher" in logged[0]["details"]
