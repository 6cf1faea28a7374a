"""Presence webhooks: device `state` messages and EMQX client connected/disconnected events.

All are idempotent and order-independent (see rs1.devices.presence); an event for a device
the registry does not know is acknowledged (200, `"applied": false`) so EMQX stops retrying.
"""

from rs1contract.payloads import StatePayload

from rs1.devices import cache, store, tags_store
from rs1.devices.presence import Kind, PresenceEvent
from rs1.errors import InvalidInput
from rs1.identity.device_id import is_device_id
from rs1.messages import ApiRequest, ApiResponse, json_response
from rs1.mqtt.webhook_models import ClientEvent, PublishEnvelope
from rs1.ota.rollouts import trigger_if_pending
from rs1.query.version_key import version_key
from rs1.services import Services
from rs1.webhooks.envelope import checked_device, parse_payload
from rs1.webhooks.ota_status import validate_installed_version
from rs1.zones import sync


async def _known(svc: Services, device_id: str) -> bool:
    return await store.get_status(svc.db, device_id) is not None


async def device_state(request: ApiRequest, svc: Services, *, body: PublishEnvelope) -> ApiResponse:
    device_id = await checked_device(body, svc)
    state = parse_payload(StatePayload, body)
    if not await _known(svc, device_id):
        return json_response({"applied": False, "reason": "unknown device"})
    at = body.publish_received_at or body.timestamp
    kind = "connected" if state.online else "disconnected"
    facts = store.StateFacts(
        firmware_version=state.firmware_version,
        version_key=version_key(state.firmware_version) if state.firmware_version else None,
        booted_at=None if state.uptime_s is None else at - state.uptime_s * 1000,
        rssi=state.rssi,
        utc_offset_min=state.utc_offset_min,
    )
    tags = [] if state.tags is None else tags_store.reported(device_id, state.tags)
    await store.record_state(svc.db, device_id, facts, PresenceEvent(kind, at), tags)
    await cache.forget(svc, device_id)
    await validate_installed_version(svc, device_id, state.firmware_version)
    if state.online:
        await trigger_if_pending(svc, device_id, int(svc.clock() * 1000))
        await sync.push(svc, device_id)  # a config changed while it was offline
    return json_response({"applied": True})


def _client_event(body: ClientEvent, kind: Kind) -> tuple[str, PresenceEvent]:
    device_id = body.clientid
    if not is_device_id(device_id):
        raise InvalidInput("clientid is not a device id.")
    if body.username and body.username not in (device_id, "undefined"):
        raise InvalidInput("username and clientid differ.")
    at = (body.connected_at if kind == "connected" else body.disconnected_at) or body.timestamp
    return device_id, PresenceEvent(kind, at, body.reason)


async def _presence(svc: Services, body: ClientEvent, kind: Kind) -> ApiResponse:
    device_id, event = _client_event(body, kind)
    applied = await store.apply_presence(svc.db, device_id, event)
    if applied:
        await cache.forget(svc, device_id)
    if kind == "connected" and applied:
        await trigger_if_pending(svc, device_id, int(svc.clock() * 1000))
        await sync.push(svc, device_id)
    return json_response({"applied": applied})


async def device_connected(request: ApiRequest, svc: Services, *, body: ClientEvent) -> ApiResponse:
    return await _presence(svc, body, "connected")


async def device_offline(request: ApiRequest, svc: Services, *, body: ClientEvent) -> ApiResponse:
    """The spec's /webhook/device-offline, fed by `$events/client_disconnected` (EMQX 5 never
    publishes the spec's `$SYS/brokers/+/clients/+/disconnected` to rules)."""
    return await _presence(svc, body, "disconnected")
