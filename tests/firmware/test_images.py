"""Deterministic test images with a readable header."""

import hashlib

import pytest
from rs1fw.images import ImageFormatError, build_image, parse_header


def test_same_arguments_give_the_same_bytes():
    a, b = build_image("RS-1", "1.2.0", 100_000), build_image("RS-1", "1.2.0", 100_000)
    assert a == b and len(a) == 100_000


def test_any_argument_changes_the_bytes():
    digests = {
        hashlib.sha256(build_image(m, v, s)).hexdigest()
        for m, v, s in [
            ("RS-1", "1.2.0", 5000),
            ("RS-2", "1.2.0", 5000),
            ("RS-1", "1.2.1", 5000),
            ("RS-1", "1.2.0", 5001),
        ]
    }
    assert len(digests) == 4


def test_header_is_readable_and_parses_back():
    image = build_image("RS-1", "2.0.0-rc.1", 1000)
    assert image.startswith(b"RS1FW RS-1 2.0.0-rc.1\n")
    assert parse_header(image) == ("RS-1", "2.0.0-rc.1")


def test_filler_looks_random():
    body = build_image("RS-1", "1.0.0", 70_000)[100:]
    assert len(set(body)) == 256 and body.count(0) < len(body) / 100


@pytest.mark.parametrize("image", [b"", b"\x7fELF...", b"RS1FW RS-1 1.2\n", b"RS1FW RS-1"])
def test_parse_header_rejects_non_images(image):
    with pytest.raises(ImageFormatError):
        parse_header(image)


@pytest.mark.parametrize(
    ("model", "version", "size"),
    [("RS 1", "1.0.0", 100), ("RS-1", "1.0", 100), ("RS-1", "1.0.0", 5)],
)
def test_build_image_rejects_bad_arguments(model, version, size):
    with pytest.raises(ValueError):
        build_image(model, version, size)
