"""POST /webhook/ota-status — devices' opticworks/{id}/ota/status reports.

Forward-only and idempotent (rs1.ota.device_status, applied in one conditional statement by
rs1.ota.rollout_store): duplicates and out-of-order reports are no-ops. A reported success
counts only once the device's `state` shows the new version (post-reboot validation); a
device that answers a repeated trigger with `already_installed` runs the target, so that is a
success claim too, never a failure. Failures trigger an immediate safety evaluation.
"""

from rs1contract.ota import OtaError, StatusReport

from rs1.devices import store
from rs1.messages import ApiRequest, ApiResponse, json_response
from rs1.mqtt.webhook_models import PublishEnvelope
from rs1.ota import rollout_store
from rs1.ota import rollouts as ro
from rs1.services import Services
from rs1.webhooks.envelope import checked_device, parse_payload


async def _validated(
    svc: Services, device_id: str, rollout: ro.Rollout, report: StatusReport
) -> str:
    """A device's own "success" (or "already installed") waits for its state to show the new
    version."""
    status = str(report.status)
    if status == "failed" and report.error == OtaError.ALREADY_INSTALLED:
        status = "success"  # it runs the target: a repeated trigger, not a failed install
    if status != "success":
        return status
    device = await store.get_device(svc.db, device_id)
    installed = device["firmware_version"] if device else None
    return "success" if installed == rollout.version else "rebooting"


async def ota_status(request: ApiRequest, svc: Services, *, body: PublishEnvelope) -> ApiResponse:
    envelope = body
    device_id = await checked_device(envelope, svc)
    report = parse_payload(StatusReport, envelope)
    rollout = await ro.load(svc.db, report.rollout_id)
    row = await rollout_store.get(svc.db, device_id, report.rollout_id)
    if rollout is None or row is None:
        return json_response({"applied": False, "reason": "device not in this rollout"})
    status = await _validated(svc, device_id, rollout, report)
    error = None if status in ("success", "rebooting") else report.error
    at = envelope.publish_received_at or envelope.timestamp
    applied = await rollout_store.record_report(
        svc.db, device_id, report.rollout_id, status, report.progress, error, at
    )
    if not applied:
        now = await rollout_store.get(svc.db, device_id, report.rollout_id)
        return json_response({"applied": False, "reason": f"already {now and now['status']}"})
    if status in ("failed", "success"):
        await ro.evaluate(svc, rollout, int(svc.clock() * 1000), enrol=False)
    return json_response({"applied": True, "status": status})


async def validate_installed_version(svc: Services, device_id: str, version: str | None) -> None:
    """Called on every `state`: a device that runs a rollout's version succeeded in it."""
    if not version:
        return
    now_ms = int(svc.clock() * 1000)
    for rollout_id in await rollout_store.confirm_installed(svc.db, device_id, version, now_ms):
        rollout = await ro.load(svc.db, rollout_id)
        if rollout is not None:
            await ro.evaluate(svc, rollout, now_ms, enrol=False)
