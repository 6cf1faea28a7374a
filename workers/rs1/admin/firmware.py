"""PUT /admin/firmware/{model}/{version} (binary body + manifest) and GET /admin/firmware.

Served by rs1-device-api (the admin API's route); artifacts go to R2 FIRMWARE at
firmware/{model}/{version}.bin, which rs1-ota streams to devices. Nothing is stored unless
size, SHA-256 and the ECDSA P-256 signature verify against FIRMWARE_PUBLIC_KEY.
"""

import base64
import binascii
import json

from pydantic import ValidationError

from rs1.admin.auth import require_admin
from rs1.http.errors import ApiError, utc_now_iso
from rs1.http.messages import ApiRequest, ApiResponse, json_response
from rs1.http.validation import validation_details
from rs1.ota.manifest import MAX_IMAGE_BYTES, Manifest, SignatureError, verify_image
from rs1.services import Services

MANIFEST_HEADER = "x-rs1-manifest"  # base64 (or raw) JSON of the signed manifest


def firmware_key(model: str, version: str) -> str:
    return f"firmware/{model}/{version}.bin"


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
    except SignatureError as exc:
        raise ApiError(422, "firmware_rejected", f"Refused: {exc}.") from None
    existing = await svc.db.first(
        "SELECT sha256 FROM firmware WHERE model = ? AND version = ?", model, version
    )
    if existing is not None:
        if existing["sha256"] != manifest.sha256:
            raise ApiError(409, "version_exists", f"{model} {version} exists with other bytes.")
        return json_response({**_public(manifest), "created": False})
    key = firmware_key(model, version)
    meta = {"sha256": manifest.sha256, "signature": manifest.signature}
    await svc.blobs["FIRMWARE"].put(key, request.body, "application/octet-stream", meta)
    await svc.db.run(
        "INSERT INTO firmware (model, version, size, sha256, signature, min_version, object_key, "
        "created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (model, version) DO NOTHING",
        model, version, manifest.size, manifest.sha256, manifest.signature,
        manifest.min_version, key, utc_now_iso(),
    )  # fmt: skip
    return json_response({**_public(manifest), "created": True}, 201)


def _public(manifest: Manifest) -> dict:
    return manifest.model_dump(mode="json")


async def list_firmware(request: ApiRequest, svc: Services) -> ApiResponse:
    await require_admin(request, svc)
    rows = await svc.db.all(
        "SELECT model, version, size, sha256, min_version, created_at FROM firmware "
        "ORDER BY model, created_at DESC"
    )
    return json_response({"firmware": rows})
