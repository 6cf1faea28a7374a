"""PUT /admin/firmware/{model}/{version} (binary body + manifest) and GET /admin/firmware.

Served by rs1-device-api (the admin API's route); artifacts go to R2 FIRMWARE at
firmware/{model}/{version}/{sha256}.bin (the row's object_key), which rs1-ota streams to
devices. Nothing is stored unless
size, SHA-256 and the ECDSA P-256 signature verify against FIRMWARE_PUBLIC_KEY, and the
signed image's own header names the same model and version as the manifest and the path.
"""

import base64
import binascii
import json

from pydantic import ValidationError

from rs1.admin.auth import require_admin
from rs1.http.errors import ApiError
from rs1.http.messages import ApiRequest, ApiResponse, json_response
from rs1.http.validation import validation_details
from rs1.ota.image_header import ImageHeaderError, check_image_header
from rs1.ota.manifest import MAX_IMAGE_BYTES, Manifest, SignatureError, verify_image
from rs1.services import Services
from rs1.timefmt import utc_now_iso

MANIFEST_HEADER = "x-rs1-manifest"  # base64 (or raw) JSON of the signed manifest


def firmware_key(model: str, version: str, sha256: str) -> str:
    """Content-addressed: racing uploads of different bytes never overwrite each other's
    object; the database row (model, version) decides which one is the release."""
    return f"firmware/{model}/{version}/{sha256}.bin"


def _manifest(request: ApiRequest) -> Manifest:
    raw = request.header(MANIFEST_HEADER)
    if not raw:
        raise ApiError(422, "firmware_rejected", f"The {MANIFEST_HEADER} header is missing.")
    try:
        text = raw if raw.lstrip().startswith("{") else base64.b64decode(raw).decode()
        return Manifest.model_validate(json.loads(text))
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        details = validation_details(exc) if isinstance(exc, ValidationError) else None
        message = f"The manifest is invalid: {exc.__class__.__name__}."
        raise ApiError(422, "firmware_rejected", message, details=details) from None


async def upload_firmware(
    request: ApiRequest, svc: Services, model: str, version: str
) -> ApiResponse:
    await require_admin(request, svc)
    manifest = _manifest(request)
    if manifest.size > MAX_IMAGE_BYTES:
        raise ApiError(422, "firmware_rejected", f"Images are at most {MAX_IMAGE_BYTES} bytes.")
    if (manifest.model, manifest.version) != (model, version):
        raise ApiError(422, "firmware_rejected", "The manifest names another model/version.")
    try:
        verify_image(request.body, manifest, svc.settings.firmware_public_key)
        # The signature covers the bytes, not the manifest's labels: without this, a signed
        # 2.9.0 image relabelled 3.0.0 would be stored, offered, and refused by every device
        # (header_mismatch). Checked after the signature, so the header read is authenticated.
        check_image_header(request.body, manifest.model, manifest.version)
    except (SignatureError, ImageHeaderError) as exc:
        raise ApiError(422, "firmware_rejected", f"Refused: {exc}.") from None
    key = firmware_key(model, version, manifest.sha256)
    meta = {"sha256": manifest.sha256, "signature": manifest.signature}
    if await _stored_sha256(svc, model, version) is None:
        await svc.blobs["FIRMWARE"].put(key, request.body, "application/octet-stream", meta)
        inserted = await svc.db.run(
            "INSERT INTO firmware (model, version, size, sha256, signature, min_version, "
            "object_key, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (model, version) DO NOTHING",
            model, version, manifest.size, manifest.sha256, manifest.signature,
            manifest.min_version, key, utc_now_iso(),
        )  # fmt: skip
        if inserted.changes:
            return json_response({**_public(manifest), "created": True}, 201)
    # The version exists (maybe since a racing upload a moment ago): same bytes or a conflict.
    if await _stored_sha256(svc, model, version) != manifest.sha256:
        await svc.blobs["FIRMWARE"].delete(key)  # ours alone: the key names our bytes' hash
        raise ApiError(409, "version_exists", f"{model} {version} exists with other bytes.")
    return json_response({**_public(manifest), "created": False})


async def _stored_sha256(svc: Services, model: str, version: str) -> str | None:
    row = await svc.db.first(
        "SELECT sha256 FROM firmware WHERE model = ? AND version = ?", model, version
    )
    return None if row is None else str(row["sha256"])


def _public(manifest: Manifest) -> dict:
    return manifest.model_dump(mode="json")


async def list_firmware(request: ApiRequest, svc: Services) -> ApiResponse:
    await require_admin(request, svc)
    rows = await svc.db.all(
        "SELECT model, version, size, sha256, min_version, created_at FROM firmware "
        "ORDER BY model, created_at DESC"
    )
    return json_response({"firmware": rows})
