"""Checks shared by the rule-engine webhooks: parse the envelope and its JSON payload, and
make sure the topic's device is the client that published it (defence in depth)."""

from typing import TypeVar

from pydantic import BaseModel

from rs1.errors import TopicMismatch
from rs1.mqtt.webhook_models import PublishEnvelope
from rs1.security_log import ACL_VIOLATION, record_security_event
from rs1.services import Services
from rs1.telemetry.publisher import publishing_device
from rs1.validation import json_object, validate

P = TypeVar("P", bound=BaseModel)


async def checked_device(envelope: PublishEnvelope, svc: Services) -> str:
    """The publishing device; a mismatch is written to the security log before refusal."""
    try:
        return publishing_device(envelope)
    except TopicMismatch:
        details = {
            "topic": envelope.topic[:256],
            "username": envelope.username[:64],
            "clientid": envelope.clientid[:64],
            "reason": "topic device differs from publisher",
        }
        await record_security_event(svc.db, ACL_VIOLATION, details, envelope.peerhost)
        raise


def parse_payload(model: type[P], envelope: PublishEnvelope) -> P:
    data = json_object(envelope.payload, "invalid_payload", "payload")
    return validate(model, data, "invalid_payload", "payload")
