"""POST /webhook/config-status — devices' acks of config/update (idempotent, forward-only)."""

from rs1.devices import cache
from rs1.http.messages import ApiRequest, ApiResponse, json_response
from rs1.http.validation import parse_body
from rs1.mqtt.payloads import ConfigStatus
from rs1.mqtt.webhook_models import PublishEnvelope
from rs1.services import Services
from rs1.webhooks.envelope import checked_device, parse_payload
from rs1.webhooks.guard import require_webhook_secret
from rs1.zones import sync


async def config_status(request: ApiRequest, svc: Services) -> ApiResponse:
    await require_webhook_secret(request, svc)
    envelope = parse_body(PublishEnvelope, request)
    device_id = await checked_device(envelope, svc)
    ack = parse_payload(ConfigStatus, envelope)
    applied = await sync.acknowledge(
        svc.db, device_id, ack.version, ack.status == "applied", ack.error
    )
    if applied:
        await cache.forget(svc, device_id)
    return json_response({"applied": applied})
