"""The Workers verify with pure-Python `ecdsa` (no `cryptography` in Pyodide): same bytes."""

import base64
import hashlib

import ecdsa
import pytest
from ecdsa.util import sigdecode_der
from rs1fw.images import build_image
from rs1fw.signing import sign_image, verify_image

IMAGE = build_image("RS-1", "1.2.0", 50_000)


def _ecdsa_verifies(image: bytes, signature_der: bytes, public_pem: bytes) -> bool:
    # Exactly the call the rs1-ota Worker makes.
    key = ecdsa.VerifyingKey.from_pem(public_pem)
    digest = hashlib.sha256(image).digest()
    try:
        return key.verify_digest(signature_der, digest, sigdecode=sigdecode_der)
    except ecdsa.BadSignatureError:
        return False


def test_pinned_ecdsa_version():
    assert ecdsa.__version__ == "0.19.2"


@pytest.mark.parametrize("attempt", range(5))  # signatures are randomised: try a few
def test_our_signature_verifies_with_ecdsa(private_pem, public_pem, attempt):
    manifest = sign_image(IMAGE, private_pem, "RS-1", "1.2.0")
    assert ecdsa.VerifyingKey.from_pem(public_pem).curve == ecdsa.NIST256p
    assert _ecdsa_verifies(IMAGE, manifest.signature_der(), public_pem)


def test_tampered_image_fails_with_ecdsa(private_pem, public_pem):
    manifest = sign_image(IMAGE, private_pem, "RS-1", "1.2.0")
    tampered = IMAGE[:-1] + bytes([IMAGE[-1] ^ 0x80])
    assert not _ecdsa_verifies(tampered, manifest.signature_der(), public_pem)


def test_one_line_base64_der_key_works_on_both_sides(private_pem, public_pem):
    # FIRMWARE_PUBLIC_KEY in .dev.vars is this one-line form (scripts/setup.sh writes it).
    one_line = base64.b64encode(ecdsa.VerifyingKey.from_pem(public_pem).to_der()).decode()
    manifest = sign_image(IMAGE, private_pem, "RS-1", "1.2.0")
    verify_image(IMAGE, manifest, one_line)
    key = ecdsa.VerifyingKey.from_der(base64.b64decode(one_line))
    digest = hashlib.sha256(IMAGE).digest()
    assert key.verify_digest(manifest.signature_der(), digest, sigdecode=sigdecode_der)
