"""Whose topic is it: the one check every rule-engine webhook makes on an envelope.

EMQX's ACL already confines a device to opticworks/{its id}/..., so a mismatch here means a
misconfigured broker or a forged webhook (defence in depth). Telemetry ingestion and the
other webhooks (rs1.webhooks.envelope) share it, so both refuse with the same code and words.
"""

from rs1contract.topics import device_of

from rs1.errors import InvalidInput, TopicMismatch
from rs1.identity.device_id import is_device_id
from rs1.mqtt.webhook_models import PublishEnvelope


def publishing_device(envelope: PublishEnvelope) -> str:
    """The device the topic names, which must be the client that published it."""
    device_id = device_of(envelope.topic)
    if device_id is None or not is_device_id(device_id):
        raise InvalidInput(f"Topic {envelope.topic!r} names no device.", code="invalid_topic")
    if device_id != envelope.username or device_id != envelope.clientid:
        raise TopicMismatch("The topic's device is not the publisher.")
    return device_id
