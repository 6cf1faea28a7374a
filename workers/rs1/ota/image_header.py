"""The RS1FW image header, read by the Workers: b"RS1FW <model> <version>\\n" at byte 0.

The firmware signature covers the image's bytes, not the manifest's labels, so a validly
signed 2.9.0 image can be relabelled 3.0.0 in its manifest and still verify. The header is
inside the signed bytes, so once the signature has verified, the header is what the
release pipeline actually signed; devices refuse an offer whose header disagrees
(`header_mismatch`), and the upload refuses it first, before a rollout can offer it.

Written independently of firmware/rs1fw/images.py (the Workers do not ship firmware/);
tests/unit/ota/test_image_header.py checks that the two agree.
"""

import re
from typing import NamedTuple

from rs1contract.semver import is_version

MAGIC = b"RS1FW"
# Model as MODEL_PATTERN in rs1contract.manifest; version characters of a semver (checked
# fully by is_version below). Both fields are at most 32 characters.
_HEADER = re.compile(rb"RS1FW ([A-Za-z0-9._-]{1,32}) ([0-9A-Za-z.-]{1,32})\n")
MAX_HEADER_BYTES = len(MAGIC) + 1 + 32 + 1 + 32 + 1  # only this prefix is ever scanned


class ImageHeaderError(ValueError):
    """The image's header is missing, malformed, or names another model/version."""


class ImageHeader(NamedTuple):
    model: str
    version: str


def parse_image_header(image: bytes) -> ImageHeader:
    """The (model, version) the image's header names; ImageHeaderError when it has none."""
    match = _HEADER.match(image, 0, MAX_HEADER_BYTES)
    if match is None:
        raise ImageHeaderError(
            f'the image does not start with a valid header b"{MAGIC.decode()} <model> <version>\\n"'
        )
    model, version = match.group(1).decode(), match.group(2).decode()
    if not is_version(version):
        raise ImageHeaderError(f"the image header's version {version!r} is not semver")
    return ImageHeader(model, version)


def check_image_header(image: bytes, model: str, version: str) -> None:
    """Raises ImageHeaderError unless the header names exactly this model and version.

    Call it on the bytes whose signature has been verified: only then is the header
    authenticated rather than whatever the uploader wrote.
    """
    found = parse_image_header(image)
    for field, signed, claimed in (
        ("model", found.model, model),
        ("version", found.version, version),
    ):
        if signed != claimed:
            raise ImageHeaderError(
                f"the signed image header says {field} {signed}, the manifest says {claimed}"
            )
