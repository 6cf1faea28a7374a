"""The signed-firmware manifest: what the release pipeline publishes next to an image,
and how the Workers verify an image against it (pure-Python `ecdsa`: Pyodide has no
`cryptography` wheel). Part of the device contract: firmware/rs1fw re-exports the model."""

import base64
import binascii
import hashlib
from datetime import UTC, datetime
from typing import Annotated

from ecdsa import BadSignatureError, NIST256p, VerifyingKey
from ecdsa.util import sigdecode_der
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    field_serializer,
    model_validator,
)

from rs1contract.semver import SEMVER_PATTERN, parse_version

MODEL_PATTERN = r"^[A-Za-z0-9._-]{1,32}$"
SHA256_PATTERN = r"^[0-9a-f]{64}$"

SemVer = Annotated[str, Field(pattern=SEMVER_PATTERN, max_length=32)]


def _base64(value: str) -> str:
    try:
        raw = base64.b64decode(value, validate=True)
    except binascii.Error as exc:
        raise ValueError("signature must be standard base64") from exc
    if not raw:
        raise ValueError("signature is empty")
    return value


def _utc(value: datetime) -> datetime:
    offset = value.utcoffset()
    if offset is None or offset.total_seconds() != 0:
        raise ValueError("created_at must be UTC")
    return value.astimezone(UTC)


class Manifest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    model: Annotated[str, Field(pattern=MODEL_PATTERN)]
    version: SemVer
    size: Annotated[int, Field(ge=1)]
    sha256: Annotated[str, Field(pattern=SHA256_PATTERN)]
    signature: Annotated[str, AfterValidator(_base64)]  # base64 of the DER ECDSA signature
    min_version: SemVer | None = None
    # Anti-rollback counter, separate from semver (Mender, Golioth): raised by a release that
    # fixes a vulnerability; no device is ever offered a release with a lower one.
    security_version: Annotated[int, Field(ge=0, le=2**31 - 1)] = 0
    created_at: Annotated[datetime, AfterValidator(_utc)]

    @model_validator(mode="after")
    def _min_not_above_version(self) -> "Manifest":
        if self.min_version and parse_version(self.min_version) > parse_version(self.version):
            raise ValueError("min_version is above version: no device could install it")
        return self

    @field_serializer("created_at")
    def _iso_z(self, value: datetime) -> str:
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")

    def signature_der(self) -> bytes:
        return base64.b64decode(self.signature)


MAX_IMAGE_BYTES = 16 * 1024 * 1024  # ESP32 flash partitions are far smaller


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


def verify_image(image: bytes, manifest: Manifest, public_key: str) -> None:
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
