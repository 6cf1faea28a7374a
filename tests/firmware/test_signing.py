"""Signing round trip, manifest validation and tamper detection."""

import base64
import json

import pytest
from pydantic import ValidationError
from rs1fw.images import build_image
from rs1fw.manifest import Manifest
from rs1fw.signing import (
    Sha256Mismatch,
    SignatureInvalid,
    SizeMismatch,
    VerificationError,
    generate_keypair,
    sign_image,
    verify_image,
)

IMAGE = build_image("RS-1", "1.2.0", 20_000)


def test_keypair_is_pkcs8_and_spki_pem(keys):
    private_pem, public_pem = keys
    assert private_pem.startswith(b"-----BEGIN PRIVATE KEY-----")
    assert public_pem.startswith(b"-----BEGIN PUBLIC KEY-----")


def test_round_trip_through_json(private_pem, public_pem):
    manifest = sign_image(IMAGE, private_pem, "RS-1", "1.2.0", min_version="1.0.0")
    reloaded = Manifest.model_validate_json(manifest.model_dump_json())

    verify_image(IMAGE, reloaded, public_pem)
    assert reloaded == manifest and reloaded.size == len(IMAGE)
    assert json.loads(manifest.model_dump_json())["created_at"].endswith("Z")
    assert manifest.signature_der()[0] == 0x30  # a DER SEQUENCE


def test_public_key_as_str_works_too(private_pem, public_pem):
    verify_image(IMAGE, sign_image(IMAGE, private_pem, "RS-1", "1.2.0"), public_pem.decode())


@pytest.mark.parametrize(
    ("image", "error"),
    [
        (IMAGE[:-1], SizeMismatch),
        (IMAGE + b"\0", SizeMismatch),
        (IMAGE[:100] + bytes([IMAGE[100] ^ 1]) + IMAGE[101:], Sha256Mismatch),
    ],
)
def test_tampered_image_is_detected(private_pem, public_pem, image, error):
    manifest = sign_image(IMAGE, private_pem, "RS-1", "1.2.0")
    with pytest.raises(error) as caught:
        verify_image(image, manifest, public_pem)
    assert isinstance(caught.value, VerificationError)


def test_signature_is_bound_to_the_key_and_the_digest(private_pem, public_pem):
    manifest = sign_image(IMAGE, private_pem, "RS-1", "1.2.0")
    _, other_public = generate_keypair()
    with pytest.raises(SignatureInvalid):
        verify_image(IMAGE, manifest, other_public)

    other_image = build_image("RS-1", "1.2.0", 20_001)
    other = sign_image(other_image, private_pem, "RS-1", "1.2.0")
    swapped = manifest.model_copy(update={"signature": other.signature})
    with pytest.raises(SignatureInvalid) as caught:
        verify_image(IMAGE, swapped, public_pem)
    assert caught.value.code == "signature_invalid"


def test_garbage_signature_is_signature_invalid(private_pem, public_pem):
    manifest = sign_image(IMAGE, private_pem, "RS-1", "1.2.0")
    garbage = manifest.model_copy(update={"signature": base64.b64encode(b"\x30\x02").decode()})
    with pytest.raises(SignatureInvalid):
        verify_image(IMAGE, garbage, public_pem)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("model", "RS 1"),
        ("model", "x" * 33),
        ("version", "1.2"),
        ("sha256", "A" * 64),
        ("signature", "not base64!"),
        ("min_version", "2.0.0"),  # above version
        ("created_at", "2026-01-01T00:00:00+02:00"),
        ("size", 0),
    ],
)
def test_manifest_rejects_invalid_fields(private_pem, field, value):
    data = json.loads(sign_image(IMAGE, private_pem, "RS-1", "1.2.0").model_dump_json())
    with pytest.raises(ValidationError):
        Manifest.model_validate({**data, field: value})


def test_a_non_p256_key_is_refused():
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    p384 = ec.generate_private_key(ec.SECP384R1()).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    with pytest.raises(ValueError, match="P-256"):
        sign_image(IMAGE, p384, "RS-1", "1.2.0")
