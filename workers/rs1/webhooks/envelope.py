"""Checks shared by the rule-engine webhooks: parse the envelope and its JSON payload, and
make sure the topic's device is the client that published it (defence in depth)."""

from typing import TypeVar

from pydantic import BaseModel

from rs1.http.errors import ApiError
from rs1.http.validation import json_object, validate
from rs1.identity.device_id import is_device_id
from rs1.mqtt.topics import device_of
from rs1.mqtt.webhook_models import PublishEnvelope
from rs1.security_log import ACL_VIOLATION, record_security_event
from rs1.services import Services

P = TypeVar("P", bound=BaseModel)


async def checked_device(envelope: PublishEnvelope, svc: Services) -> str:
    device_id = device_of(envelope.topic)
    if not is_device_id(device_id):
        raise ApiError(400, "invalid_topic", f"Topic {envelope.topic!r} names no device.")
    if device_id != envelope.username or device_id != envelope.clientid:
        details = {
            "topic": envelope.topic[:256],
            "username": envelope.username[:64],
            "clientid": envelope.clientid[:64],
            "reason": "topic device differs from publisher",
        }
        await record_security_event(svc.db, ACL_VIOLATION, details, envelope.peerhost)
        raise ApiError(403, "topic_mismatch", "The topic's device is not the publisher.")
    return device_id


def parse_payload(model: type[P], envelope: PublishEnvelope) -> P:
    data = json_object(envelope.payload, "invalid_payload", "payload")
    return validate(model, data, "invalid_payload", "payload")
