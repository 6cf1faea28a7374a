"""The Workers' RS1FW header parser agrees with the firmware's image builder, and the upload
check refuses an image whose signed header disagrees with the manifest's labels."""

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rs1contract.semver import is_version
from rs1fw.images import build_image
from rs1fw.images import parse_header as firmware_parse_header

from rs1.ota.image_header import (
    MAX_HEADER_BYTES,
    ImageHeader,
    ImageHeaderError,
    check_image_header,
    parse_image_header,
)

models = st.from_regex(r"\A[A-Za-z0-9._-]{1,32}\Z")
_number = st.integers(0, 10_000).map(str)
_ident = st.one_of(_number, st.from_regex(r"\A[0-9]*[A-Za-z-][0-9A-Za-z-]*\Z"))
versions = st.builds(
    lambda core, pre: ".".join(core) + (f"-{'.'.join(pre)}" if pre else ""),
    st.tuples(_number, _number, _number),
    st.lists(_ident, max_size=3),
).filter(lambda v: len(v) <= 32 and is_version(v))


@given(models, versions, st.integers(0, 200))
def test_parser_reads_back_what_the_firmware_builder_writes(model, version, extra) -> None:
    size = len(f"RS1FW {model} {version}\n") + extra
    image = build_image(model, version, size)
    assert parse_image_header(image) == ImageHeader(model, version)
    assert firmware_parse_header(image) == tuple(parse_image_header(image))
    check_image_header(image, model, version)  # the honest labels pass


@given(models, versions, versions)
def test_relabelled_version_is_refused_naming_both(model, signed, claimed) -> None:
    image = build_image(model, signed, 1000)
    if signed == claimed:
        check_image_header(image, model, claimed)
        return
    with pytest.raises(ImageHeaderError) as caught:
        check_image_header(image, model, claimed)
    assert str(caught.value) == (
        f"the signed image header says version {signed}, the manifest says {claimed}"
    )


def test_relabelled_model_is_refused_naming_both() -> None:
    image = build_image("X", "2.9.0", 1000)
    with pytest.raises(ImageHeaderError) as caught:
        check_image_header(image, "Y", "2.9.0")
    assert str(caught.value) == "the signed image header says model X, the manifest says Y"


def test_the_example_from_the_bug_report() -> None:
    image = build_image("X", "2.9.0", 4096)
    with pytest.raises(ImageHeaderError) as caught:
        check_image_header(image, "X", "3.0.0")
    expected = "the signed image header says version 2.9.0, the manifest says 3.0.0"
    assert str(caught.value) == expected


@pytest.mark.parametrize(
    "image",
    [
        b"",
        b"RS1FW",
        b"RS1FW X 2.9.0",  # truncated before the newline
        b"RS1FW X 2.9.",
        b"\x7fELF\x02\x01\x01" + b"\0" * 100,
        b"RS1FW X 2.9\n",  # not semver
        b"RS1FW X 02.9.0\n",  # leading zero: not semver
        b"RS1FW X 2.9.0+build\n",  # build metadata is refused everywhere
        b"RS1FW  X 2.9.0\n",
        b"rs1fw X 2.9.0\n",
        b" RS1FW X 2.9.0\n",  # the header must be at byte 0
        b"RS1FW " + b"M" * 33 + b" 2.9.0\n",  # model too long
    ],
)
def test_missing_or_malformed_header_is_refused(image) -> None:
    with pytest.raises(ImageHeaderError):
        parse_image_header(image)
    with pytest.raises(ImageHeaderError):
        check_image_header(image, "X", "2.9.0")


@given(models, versions)
def test_every_truncation_of_the_header_is_refused(model, version) -> None:
    head = f"RS1FW {model} {version}\n".encode()
    assert len(head) <= MAX_HEADER_BYTES
    for cut in range(len(head)):
        with pytest.raises(ImageHeaderError):
            parse_image_header(head[:cut])
