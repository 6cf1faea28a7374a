"""ECDSA P-256 / SHA-256 firmware signatures (DER, base64 in the manifest).

The signature covers the image's SHA-256 digest, so a verifier can hash the image as it
streams in and check the signature once at the end (the device does; so can the Workers,
which use the pure-Python `ecdsa` package on the same bytes).
"""

import base64
import hashlib
from datetime import UTC, datetime

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

from rs1fw.manifest import Manifest

Pem = bytes | str

_ECDSA_PREHASHED = ec.ECDSA(Prehashed(hashes.SHA256()))


class VerificationError(Exception):
    """An image does not match its manifest; `code` is the OTA status error string."""

    code = "verification_failed"


class SizeMismatch(VerificationError):
    code = "size_mismatch"


class Sha256Mismatch(VerificationError):
    code = "sha256_mismatch"


class SignatureInvalid(VerificationError):
    code = "signature_invalid"


def _bytes(pem: Pem) -> bytes:
    return pem.encode() if isinstance(pem, str) else pem


def generate_keypair() -> tuple[bytes, bytes]:
    """A fresh P-256 keypair as (PKCS#8 private PEM, SubjectPublicKeyInfo public PEM)."""
    key = ec.generate_private_key(ec.SECP256R1())
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private, public


def _private_key(pem: Pem) -> ec.EllipticCurvePrivateKey:
    key = serialization.load_pem_private_key(_bytes(pem), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
        raise ValueError("the signing key must be an ECDSA P-256 private key")
    return key


def _public_key(pem: Pem) -> ec.EllipticCurvePublicKey:
    """PEM, or the one-line base64 SubjectPublicKeyInfo DER that .dev.vars holds."""
    data = _bytes(pem).strip()
    if data.startswith(b"-----BEGIN"):
        key = serialization.load_pem_public_key(data)
    else:
        key = serialization.load_der_public_key(base64.b64decode(data, validate=True))
    if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != "secp256r1":
        raise ValueError("the verifying key must be an ECDSA P-256 public key")
    return key


def sign_digest(digest: bytes, private_pem: Pem) -> bytes:
    """DER signature over a SHA-256 digest."""
    return _private_key(private_pem).sign(digest, _ECDSA_PREHASHED)


def sign_image(
    image: bytes,
    private_pem: Pem,
    model: str,
    version: str,
    min_version: str | None = None,
) -> Manifest:
    digest = hashlib.sha256(image).digest()
    return Manifest(
        model=model,
        version=version,
        size=len(image),
        sha256=digest.hex(),
        signature=base64.b64encode(sign_digest(digest, private_pem)).decode(),
        min_version=min_version,
        created_at=datetime.now(UTC).replace(microsecond=0),
    )


def verify_signature(digest: bytes, signature_b64: str, public_pem: Pem) -> None:
    """SignatureInvalid unless signature_b64 is a valid signature over digest."""
    key = _public_key(public_pem)  # a bad key is a setup error, not a bad image
    try:
        der = base64.b64decode(signature_b64, validate=True)
        key.verify(der, digest, _ECDSA_PREHASHED)
    except (InvalidSignature, ValueError) as exc:
        # binascii.Error is a ValueError; so is an unparsable DER blob
        raise SignatureInvalid("the signature does not verify with the public key") from exc


def check_image(image: bytes, size: int, sha256: str, signature_b64: str, public_pem: Pem) -> None:
    """Size, then digest, then signature: the cheapest check that can fail goes first."""
    if len(image) != size:
        raise SizeMismatch(f"image is {len(image)} bytes, expected {size}")
    digest = hashlib.sha256(image).digest()
    if digest.hex() != sha256.lower():
        raise Sha256Mismatch(f"image sha256 is {digest.hex()}, expected {sha256}")
    verify_signature(digest, signature_b64, public_pem)


def verify_image(image: bytes, manifest: Manifest, public_pem: Pem) -> None:
    """Raise a VerificationError subclass unless image is exactly what manifest signed."""
    check_image(image, manifest.size, manifest.sha256, manifest.signature, public_pem)
