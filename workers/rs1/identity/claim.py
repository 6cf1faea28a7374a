"""Claim codes printed on the device label: whoever holds the device can prove it.

    claim_code = first 10 chars of base32(HMAC-SHA256(device_secret, "rs1-claim-code:v1"))

Derived from the device key, so it is never stored either; the Worker recomputes it.
"""

import base64
import hashlib
import hmac


def claim_code(device_secret: str) -> str:
    digest = hmac.new(device_secret.encode(), b"rs1-claim-code:v1", hashlib.sha256).digest()
    return base64.b32encode(digest).decode()[:10]


def claim_matches(device_secret: str, given: str) -> bool:
    normalized = given.strip().upper().replace("-", "").replace(" ", "")
    return hmac.compare_digest(claim_code(device_secret).encode(), normalized.encode())
