"""POST /webhook/ota-status — devices' opticworks/{id}/ota/status reports.

Forward-only and idempotent (rs1.ota.device_status): duplicates and out-of-order reports are
no-ops. A reported success counts only once the device's `state` shows the new version
(post-reboot validation); failures trigger an immediate safety evaluation of the rollout.
"""

from rs1.devices import store
from rs1.http.messages import ApiRequest, ApiResponse, json_response
from rs1.http.validation import parse_body
from rs1.mqtt.webhook_models import PublishEnvelope
from rs1.ota import rollouts as ro
from rs1.ota.device_status import RANK, accepts
from rs1.ota.messages import StatusReport
from rs1.services import Services
from rs1.webhooks.envelope import checked_device, parse_payload
from rs1.webhooks.guard import require_webhook_secret


async def _validated(svc: Services, device_id: str, rollout: ro.Rollout, status: str) -> str:
    """A device's own "success" waits for its state to show the new version."""
    if status != "success":
        return status
    device = await store.get_device(svc.db, device_id)
    installed = device["firmware_version"] if device else None
    return "success" if installed == rollout.version else "rebooting"


async def ota_status(request: ApiRequest, svc: Services) -> ApiResponse:
    await require_webhook_secret(request, svc)
    envelope = parse_body(PublishEnvelope, request)
    device_id = await checked_device(envelope, svc)
    report = parse_payload(StatusReport, envelope)
    rollout = await ro.load(svc.db, report.rollout_id)
    row = await svc.db.first(
        "SELECT status, progress FROM ota_device_status WHERE device_id = ? AND rollout_id = ?",
        device_id,
        report.rollout_id,
    )
    if rollout is None or row is None:
        return json_response({"applied": False, "reason": "device not in this rollout"})
    status = await _validated(svc, device_id, rollout, str(report.status))
    if not accepts(row["status"], row["progress"], status, report.progress):
        return json_response({"applied": False, "reason": f"already {row['status']}"})
    at = envelope.publish_received_at or envelope.timestamp
    await svc.db.run(
        "UPDATE ota_device_status SET status = ?, status_rank = ?, progress = ?, "
        "error_message = ?, updated_at = ?, progress_at = ? WHERE device_id = ? AND rollout_id = ?",
        status, RANK[status], report.progress, report.error, store.iso_ms(at), at,
        device_id, report.rollout_id,
    )  # fmt: skip
    if status in ("failed", "success"):
        await ro.evaluate(svc, rollout, int(svc.clock() * 1000), enrol=False)
    return json_response({"applied": True, "status": status})


async def validate_installed_version(svc: Services, device_id: str, version: str | None) -> None:
    """Called on every `state`: a device that rebooted into the rollout's version succeeded."""
    if not version:
        return
    rows = await svc.db.all(
        "SELECT r.* FROM ota_device_status s JOIN ota_rollouts r ON r.rollout_id = s.rollout_id "
        "WHERE s.device_id = ? AND s.status IN ('installing', 'rebooting', 'timed_out') "
        "AND r.firmware_version = ?",
        device_id,
        version,
    )
    for row in rows:
        await svc.db.run(
            "UPDATE ota_device_status SET status = 'success', status_rank = 9, progress = 100, "
            "updated_at = ? WHERE device_id = ? AND rollout_id = ?",
            store.iso_ms(int(svc.clock() * 1000)),
            device_id,
            row["rollout_id"],
        )
        await ro.evaluate(svc, ro.Rollout.from_row(row), int(svc.clock() * 1000), enrol=False)
