"""Device ids derived from MAC addresses.

    device_id = lowercase hex of SHA-256(b"rs1-device-id:v1:" + the 6 MAC bytes), first 32 chars

The factory tool, the simulated fleet and the Workers all call `device_id_from_mac`, so the
derivation exists once. MACs are accepted as `AA:BB:CC:DD:EE:FF`, `aa-bb-cc-dd-ee-ff` or
`aabbccddeeff` and stored canonically as upper-case, colon-separated.
"""

import hashlib
import re

_MAC = re.compile(r"^[0-9A-Fa-f]{2}([:-]?)(?:[0-9A-Fa-f]{2}\1){4}[0-9A-Fa-f]{2}$")
_DEVICE_ID = re.compile(r"^[0-9a-f]{32}$")
DEVICE_ID_PREFIX = b"rs1-device-id:v1:"


class InvalidMac(ValueError):
    pass


def normalize_mac(mac: str) -> str:
    if not isinstance(mac, str) or not _MAC.match(mac):
        raise InvalidMac(f"not a MAC address: {mac!r} (expected AA:BB:CC:DD:EE:FF)")
    digits = re.sub(r"[:-]", "", mac).upper()
    return ":".join(digits[i : i + 2] for i in range(0, 12, 2))


def device_id_from_mac(mac: str) -> str:
    raw = bytes.fromhex(normalize_mac(mac).replace(":", ""))
    return hashlib.sha256(DEVICE_ID_PREFIX + raw).hexdigest()[:32]


def is_device_id(value: object) -> bool:
    return isinstance(value, str) and bool(_DEVICE_ID.match(value))
