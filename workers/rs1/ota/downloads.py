"""rs1-ota: signed, resumable firmware downloads and the device pull path.

GET /firmware/{model}/{version}.bin?device=&exp=&sig=   — streams from R2 FIRMWARE
GET /firmware/{model}/offer   (X-Device-Id, X-Device-Password: the hourly MQTT password)
"""

from rs1.devices import store
from rs1.http.errors import ApiError, not_found
from rs1.http.messages import ApiRequest, ApiResponse, empty_response, json_response
from rs1.identity.device_id import is_device_id
from rs1.identity.keys import derive_device_secret, verify_mqtt_password
from rs1.ota import rollouts as ro
from rs1.ota.device_status import IN_PROGRESS
from rs1.ota.ranges import Unsatisfiable, parse_range
from rs1.ota.signed_url import check, signed_url
from rs1.services import Services


def _forbidden(reason: str) -> ApiError:
    messages = {
        "expired": "This download URL has expired; GET /firmware/{model}/offer for a fresh one.",
        "bad_signature": "This download URL is not valid.",
    }
    return ApiError(403, f"url_{reason}", messages[reason])


async def download(request: ApiRequest, svc: Services, model: str, file: str) -> ApiResponse:
    if not file.endswith(".bin"):
        raise not_found(f"No firmware {model}/{file}.")
    version = file.removesuffix(".bin")
    q = request.query
    firmware = await svc.db.first(
        "SELECT size, sha256, object_key FROM firmware WHERE model = ? AND version = ?",
        model,
        version,
    )
    # The signature binds device, artifact (sha256 from D1) and expiry: check before anything.
    sha = firmware["sha256"] if firmware else "unknown"
    reason = check(svc.settings.signing_key, q.get("device", ""), sha, q.get("exp", ""),
                   q.get("sig", ""), svc.clock())  # fmt: skip
    if reason or firmware is None:
        raise _forbidden(reason or "bad_signature")
    size = int(firmware["size"])
    try:
        span = parse_range(request.header("range"), size)
    except Unsatisfiable:
        raise ApiError(416, "range_not_satisfiable", f"The image has {size} bytes.",
                       headers={"content-range": f"bytes */{size}"}) from None  # fmt: skip
    start, end = span if span else (0, size - 1)
    blob = await svc.blobs["FIRMWARE"].open(firmware["object_key"], start, end - start + 1)
    if blob is None:
        raise ApiError(503, "firmware_unavailable", "The image is not readable right now.")
    headers = {
        "content-type": "application/octet-stream",
        "content-length": str(end - start + 1),
        "etag": f'"{firmware["sha256"]}"',
        "accept-ranges": "bytes",
        "cache-control": "private, no-store",
    }
    if span:
        headers["content-range"] = f"bytes {start}-{end}/{size}"
    return ApiResponse(206 if span else 200, b"", headers, stream=blob)


async def _device(request: ApiRequest, svc: Services) -> str:
    device_id = request.header("x-device-id")
    password = request.header("x-device-password")
    found = await store.get_status(svc.db, device_id) if is_device_id(device_id) else None
    if found is None or found[0] != store.ACTIVE or len(password) != 64:
        raise ApiError(401, "unauthorized", "Device credentials are required.")
    secret = derive_device_secret(svc.settings.device_master_key, device_id, found[1])
    if not verify_mqtt_password(secret, device_id, password, svc.clock()):
        raise ApiError(401, "unauthorized", "Device credentials are required.")
    return device_id


async def _pending_offer(svc: Services, device_id: str, model: str) -> ro.Rollout | None:
    """A rollout (live or completed) that already counts this device in and is unfinished."""
    marks = ",".join("?" * (1 + len(IN_PROGRESS)))
    row = await svc.db.first(
        "SELECT r.* FROM ota_device_status s JOIN ota_rollouts r ON r.rollout_id = s.rollout_id "
        f"WHERE s.device_id = ? AND r.model = ? AND s.status IN ({marks}) "
        "AND r.status IN (?, ?) ORDER BY r.created_at DESC",
        device_id,
        model,
        "pending",
        *IN_PROGRESS,
        ro.ACTIVE,
        ro.COMPLETED,
    )
    return None if row is None else ro.Rollout.from_row(row)


async def _new_offer(svc: Services, device_id: str, model: str, now_ms: int) -> ro.Rollout | None:
    """A device that missed its trigger entirely joins the active rollout's cohort here."""
    for rollout in await ro.live_rollouts(svc.db, model):
        if rollout.status != ro.ACTIVE or not ro.wanted(rollout, device_id):
            continue
        await ro.enrol_cohort(svc, rollout, now_ms)
        if await _pending_offer(svc, device_id, model):
            return rollout
    return None


async def offer(request: ApiRequest, svc: Services, model: str) -> ApiResponse:
    """The device's current offer with a fresh signed URL (also how an expired URL is
    refreshed), or 204 when nothing is pending for it."""
    device_id = await _device(request, svc)
    now_ms = int(svc.clock() * 1000)
    rollout = await _pending_offer(svc, device_id, model)
    rollout = rollout or await _new_offer(svc, device_id, model, now_ms)
    if rollout is None:
        return empty_response(204)
    expiry = int(svc.clock()) + svc.settings.signed_url_expiry
    url = signed_url(svc.settings.ota_base_url, svc.settings.signing_key, device_id,
                     rollout.model, rollout.version, rollout.sha256, expiry)  # fmt: skip
    return json_response(ro.offer_body(rollout, url), headers={"cache-control": "no-store"})
