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
from rs1contract.manifest import MAX_IMAGE_BYTES, Manifest, SignatureError, verify_image

from rs1.audit.trail import AuditTrail
from rs1.auth.caller import Caller
from rs1.errors import Conflict, Unprocessable
from rs1.messages import ApiRequest, ApiResponse, json_response
from rs1.ota import firmware_store
from rs1.ota.image_header import ImageHeaderError, check_image_header
from rs1.services import Services
from rs1.timefmt import utc_now_iso
from rs1.validation import validation_details

MANIFEST_HEADER = "x-rs1-manifest"  # base64 (or raw) JSON of the signed manifest
REJECTED = "firmware_rejected"  # the error code of every refused upload


def firmware_key(model: str, version: str, sha256: str) -> str:
    """Content-addressed: racing uploads of different bytes never overwrite each other's
    object; the database row (model, version) decides which one is the release."""
    return f"firmware/{model}/{version}/{sha256}.bin"


def _manifest(request: ApiRequest) -> Manifest:
    raw = request.header(MANIFEST_HEADER)
    if not raw:
        raise Unprocessable(f"The {MANIFEST_HEADER} header is missing.", code=REJECTED)
    try:
        text = raw if raw.lstrip().startswith("{") else base64.b64decode(raw).decode()
        return Manifest.model_validate(json.loads(text))
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        details = validation_details(exc) if isinstance(exc, ValidationError) else None
        message = f"The manifest is invalid: {exc.__class__.__name__}."
        raise Unprocessable(message, code=REJECTED, details=details) from None


async def upload_firmware(
    request: ApiRequest,
    svc: Services,
    model: str,
    version: str,
    *,
    caller: Caller,
    audit: AuditTrail,
) -> ApiResponse:
    manifest = _manifest(request)
    audit.summary(after={"sha256": manifest.sha256, "size": manifest.size})
    if manifest.size > MAX_IMAGE_BYTES:
        raise Unprocessable(f"Images are at most {MAX_IMAGE_BYTES} bytes.", code=REJECTED)
    if (manifest.model, manifest.version) != (model, version):
        raise Unprocessable("The manifest names another model/version.", code=REJECTED)
    try:
        verify_image(request.body, manifest, svc.settings.firmware_public_key)
        # The signature covers the bytes, not the manifest's labels: without this, a signed
        # 2.9.0 image relabelled 3.0.0 would be stored, offered, and refused by every device
        # (header_mismatch). Checked after the signature, so the header read is authenticated.
        check_image_header(request.body, manifest.model, manifest.version)
    except (SignatureError, ImageHeaderError) as exc:
        raise Unprocessable(f"Refused: {exc}.", code=REJECTED) from None
    key = firmware_key(model, version, manifest.sha256)
    meta = {"sha256": manifest.sha256, "signature": manifest.signature}
    if await firmware_store.sha256_of(svc.db, model, version) is None:
        await svc.blobs["FIRMWARE"].put(key, request.body, "application/octet-stream", meta)
        inserted = await firmware_store.insert(
            svc.db,
            model=model,
            version=version,
            size=manifest.size,
            sha256=manifest.sha256,
            signature=manifest.signature,
            min_version=manifest.min_version,
            security_version=manifest.security_version,
            object_key=key,
            created_at=utc_now_iso(),
        )
        if inserted:
            return json_response({**_public(manifest), "created": True}, 201)
    # The version exists (maybe since a racing upload a moment ago): same bytes or a conflict.
    if await firmware_store.sha256_of(svc.db, model, version) != manifest.sha256:
        await svc.blobs["FIRMWARE"].delete(key)  # ours alone: the key names our bytes' hash
        raise Conflict(f"{model} {version} exists with other bytes.", code="version_exists")
    return json_response({**_public(manifest), "created": False})


def _public(manifest: Manifest) -> dict:
    return manifest.model_dump(mode="json")


async def list_firmware(request: ApiRequest, svc: Services, *, caller: Caller) -> ApiResponse:
    return json_response({"firmware": await firmware_store.list_all(svc.db)})
