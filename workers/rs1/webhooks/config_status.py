"""POST /webhook/config-status — devices' acks of config/update (idempotent, forward-only)."""

from rs1contract.payloads import ConfigStatus

from rs1.devices import cache
from rs1.messages import ApiRequest, ApiResponse, json_response
from rs1.mqtt.webhook_models import PublishEnvelope
from rs1.services import Services
from rs1.webhooks.envelope import checked_device, parse_payload
from rs1.zones import sync


async def config_status(
    request: ApiRequest, svc: Services, *, body: PublishEnvelope
) -> ApiResponse:
    device_id = await checked_device(body, svc)
    ack = parse_payload(ConfigStatus, body)
    applied = await sync.acknowledge(
        svc.db, device_id, ack.version, ack.status == "applied", ack.error, int(svc.clock() * 1000)
    )
    if applied:
        await cache.forget(svc, device_id)
    return json_response({"applied": applied})
