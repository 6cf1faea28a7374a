"""Deterministic stand-in firmware images for tests, demos and the simulated fleet.

Layout: one readable header line, b"RS1FW <model> <version>\\n", then filler. The filler
is SHAKE-256 output keyed by (model, version, size): incompressible like a real binary,
and the same arguments always give the same bytes (so the same sha256 and signature).
"""

import hashlib
import re

from rs1fw.manifest import MODEL_PATTERN
from rs1fw.versions import is_version

MAGIC = b"RS1FW"
_HEADER = re.compile(rb"RS1FW ([A-Za-z0-9._-]{1,32}) ([0-9A-Za-z.-]{5,32})\n")
_MAX_HEADER = len(MAGIC) + 2 + 32 + 32 + 1


class ImageFormatError(ValueError):
    """The bytes do not start with a valid RS1FW header."""


def header(model: str, version: str) -> bytes:
    if not re.fullmatch(MODEL_PATTERN, model):
        raise ValueError(f"invalid model {model!r}")
    if not is_version(version):
        raise ValueError(f"invalid version {version!r}")
    return b"%s %s %s\n" % (MAGIC, model.encode(), version.encode())


def build_image(model: str, version: str, size: int) -> bytes:
    head = header(model, version)
    if size < len(head):
        raise ValueError(f"size {size} is smaller than the {len(head)}-byte header")
    seed = f"rs1fw-image|{model}|{version}|{size}".encode()
    return head + hashlib.shake_256(seed).digest(size - len(head))


def parse_header(image: bytes) -> tuple[str, str]:
    """(model, version) from an image's header; ImageFormatError when there is none."""
    match = _HEADER.match(image[:_MAX_HEADER])
    if match is None or not is_version(match.group(2).decode()):
        raise ImageFormatError("no RS1FW header at the start of the image")
    return match.group(1).decode(), match.group(2).decode()
