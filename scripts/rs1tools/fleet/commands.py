"""What a device says and how it answers: telemetry frames and cloud commands.

Functions over a SimDevice rather than methods, so the connection lifecycle (device.py)
and the firmware's application behaviour stay in separate, small modules.
"""

import json
import logging
from typing import TYPE_CHECKING

import aiomqtt
from pydantic import ValidationError
from rs1contract.payloads import DiagRequest

from rs1tools.fleet import messages
from rs1tools.fleet.messages import Outbound
from rs1tools.fleet.radar import zones_from_config
from rs1tools.fleet.zoneconfig import decide

if TYPE_CHECKING:
    from rs1tools.fleet.device import SimDevice

log = logging.getLogger(__name__)
RADAR_FAULT_P = 0.002


def telemetry_frame(device: "SimDevice", dt: float) -> list[Outbound]:
    """One tick: targets, presence derived from the same targets, and health. A device whose
    update broke its radar sends health only, with radar_ok false; one whose update silenced
    it sends nothing."""
    if device.telemetry_silent:
        return []
    targets = device.radar.step(dt)
    ts, did, ids = device.ts_ms(), device.device_id, device.ids
    radar = [] if device.radar_silent else [
        messages.targets(did, ids.next(), ts, targets),
        messages.presence(did, ids.next(), ts, device.radar.presence(targets)),
    ]  # fmt: skip
    return [
        *radar,
        messages.health(
            did,
            ids.next(),
            ts,
            uptime_s=device.uptime_s(),
            free_heap=device.free_heap(),
            rssi=device.rssi(),
            radar_ok=not device.radar_silent and device.rng.random() > RADAR_FAULT_P,
            temperature_c=round(device.rng.uniform(38.0, 52.0), 1),
        ),
    ]


def diagnostics(device: "SimDevice", kind: str) -> dict[str, object]:
    return {
        "kind": kind,
        "uptime_s": device.uptime_s(),
        "free_heap": device.free_heap(),
        "rssi": device.rssi(),
        "reconnects": device.reconnects,
        "boots": device.boots,
        "firmware_version": device.firmware_version,
        "config_version": device.applied_version,
    }


async def handle(device: "SimDevice", client: aiomqtt.Client, suffix: str, raw: bytes) -> None:
    if suffix == "config/update":
        await on_config_update(device, client, raw)
    elif suffix == "diag/request":
        await on_diag_request(device, client, raw)
    elif suffix == "ota/trigger":
        on_ota_trigger(device, raw)
    else:
        device.ctx.stats.errors += 1
        log.warning("device %s: message on unexpected topic %s", device.device_id, suffix)


async def on_config_update(device: "SimDevice", client: aiomqtt.Client, raw: bytes) -> None:
    decision = decide(raw, device.applied_version)
    stats = device.ctx.stats
    if decision.config is not None:
        device.applied_version = decision.status.version
        device.applied_config = decision.config
        device.radar.zones = zones_from_config(decision.config)
        stats.config_applied += 1
    else:
        stats.config_rejected += 1
    await device.send(client, messages.config_status(device.device_id, decision.status))


async def on_diag_request(device: "SimDevice", client: aiomqtt.Client, raw: bytes) -> None:
    try:
        request = DiagRequest.model_validate_json(raw)
    except ValidationError:
        device.ctx.stats.errors += 1
        log.warning("device %s: malformed diag/request %r", device.device_id, raw[:200])
        return
    result = diagnostics(device, request.kind)
    out = messages.diag(
        device.device_id, device.ids.next(), device.ts_ms(), request.request_id, result
    )
    await device.send(client, out)
    device.ctx.stats.diag_answers += 1


def on_ota_trigger(device: "SimDevice", raw: bytes) -> None:
    try:
        parsed = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        parsed = None
    trigger: dict[str, object] = (
        parsed if isinstance(parsed, dict) else {"raw": raw.decode(errors="replace")}
    )
    device.ctx.stats.ota_triggers += 1
    device.spawn(device.ctx.ota.on_trigger(device, trigger))
