"""Firmware manifests and their ECDSA P-256 signatures (verified with the pure-Python
`ecdsa` package: no `cryptography` wheel exists for Pyodide)."""

import base64
import binascii
import hashlib
from datetime import datetime

from ecdsa import BadSignatureError, NIST256p, VerifyingKey
from ecdsa.util import sigdecode_der
from pydantic import BaseModel, ConfigDict, Field, field_validator

from rs1.ota.semver import is_version

MAX_IMAGE_BYTES = 16 * 1024 * 1024  # ESP32 flash partitions are far smaller
MODEL_PATTERN = r"^[A-Za-z0-9._-]{1,32}$"


class FirmwareManifest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model: str = Field(pattern=MODEL_PATTERN)
    version: str
    size: int = Field(gt=0, le=MAX_IMAGE_BYTES)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    signature: str = Field(min_length=8, max_length=512)
    min_version: str | None = None
    created_at: datetime

    @field_validator("version", "min_version")
    @classmethod
    def _semver(cls, value: str | None) -> str | None:
        if value is not None and not is_version(value):
            raise ValueError(f"not a semantic version: {value!r}")
        return value


class SignatureError(Exception):
    pass


def load_public_key(text: str) -> VerifyingKey:
    """FIRMWARE_PUBLIC_KEY: a PEM, or base64 of the DER SubjectPublicKeyInfo (one line)."""
    text = text.strip()
    if not text:
        raise SignatureError("FIRMWARE_PUBLIC_KEY is not configured")
    key = (
        VerifyingKey.from_pem(text)
        if text.startswith("-----BEGIN")
        else VerifyingKey.from_der(base64.b64decode(text))
    )
    if key.curve != NIST256p:
        raise SignatureError("the firmware key is not a P-256 key")
    return key


def verify_image(image: bytes, manifest: FirmwareManifest, public_key: str) -> None:
    """Raises SignatureError unless size, SHA-256 and the ECDSA signature all match."""
    if len(image) != manifest.size:
        raise SignatureError(f"size is {len(image)}, the manifest says {manifest.size}")
    digest = hashlib.sha256(image).digest()
    if digest.hex() != manifest.sha256:
        raise SignatureError("SHA-256 does not match the manifest")
    try:
        signature = base64.b64decode(manifest.signature, validate=True)
        ok = load_public_key(public_key).verify_digest(signature, digest, sigdecode=sigdecode_der)
    except (BadSignatureError, binascii.Error, ValueError) as exc:
        raise SignatureError(f"bad signature: {exc.__class__.__name__}") from None
    if not ok:
        raise SignatureError("bad signature")
