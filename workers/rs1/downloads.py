"""rs1-ota: signed, resumable firmware downloads and the device pull path.

GET /firmware/{model}/{version}.bin?device=&exp=&sig=   — streams from R2 FIRMWARE
GET /firmware/{model}/offer   (X-Device-Id, X-Device-Password: the hourly MQTT password)
"""

from rs1.auth.caller import DeviceCaller
from rs1.errors import Forbidden, NotFound, RangeNotSatisfiable, Unavailable
from rs1.messages import ApiRequest, ApiResponse, empty_response, json_response
from rs1.ota import firmware_store
from rs1.ota import rollouts as ro
from rs1.ota.ranges import Unsatisfiable, parse_range
from rs1.ota.signed_url import check
from rs1.services import Services


def _forbidden(reason: str) -> Forbidden:
    messages = {
        "expired": "This download URL has expired; GET /firmware/{model}/offer for a fresh one.",
        "bad_signature": "This download URL is not valid.",
    }
    return Forbidden(messages[reason], code=f"url_{reason}")


async def download(request: ApiRequest, svc: Services, model: str, file: str) -> ApiResponse:
    if not file.endswith(".bin"):
        raise NotFound(f"No firmware {model}/{file}.")
    version = file.removesuffix(".bin")
    q = request.query
    firmware = await firmware_store.artifact(svc.db, model, version)
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
        raise RangeNotSatisfiable(f"The image has {size} bytes.", size=size) from None
    start, end = span if span else (0, size - 1)
    blob = await svc.blobs["FIRMWARE"].open(firmware["object_key"], start, end - start + 1)
    if blob is None:
        raise Unavailable("The image is not readable right now.", code="firmware_unavailable")
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


async def offer(
    request: ApiRequest, svc: Services, model: str, *, caller: DeviceCaller
) -> ApiResponse:
    """The device's current offer with a fresh signed URL (also how an expired URL is
    refreshed), or 204 when nothing is pending for it."""
    device_id = caller.device_id
    rollout = await ro.offer_for(svc, device_id, model, int(svc.clock() * 1000))
    if rollout is None:
        return empty_response(204)
    body = ro.signed_offer(svc.settings, rollout, device_id, svc.clock())
    return json_response(body, headers={"cache-control": "no-store"})
