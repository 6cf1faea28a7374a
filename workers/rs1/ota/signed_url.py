"""Short-lived download URLs bound to a device, an artifact and an expiry.

    sig = hex HMAC-SHA256(SIGNING_KEY, "{device_id}|{sha256}|{expiry}")
    {OTA_BASE_URL}/firmware/{model}/{version}.bin?device={device_id}&exp={expiry}&sig={sig}

The OTA Worker recomputes it with the artifact's sha256 from D1, so a URL cannot be moved to
another device, another image or a later time.
"""

import hashlib
import hmac
from urllib.parse import urlencode


def signature(signing_key: str, device_id: str, sha256: str, expiry: int) -> str:
    message = f"{device_id}|{sha256}|{expiry}".encode()
    return hmac.new(signing_key.encode(), message, hashlib.sha256).hexdigest()


def signed_url(
    base: str, signing_key: str, device_id: str, model: str, version: str, sha256: str, expiry: int
) -> str:
    query = urlencode(
        {
            "device": device_id,
            "exp": expiry,
            "sig": signature(signing_key, device_id, sha256, expiry),
        }
    )
    return f"{base.rstrip('/')}/firmware/{model}/{version}.bin?{query}"


def check(
    signing_key: str, device_id: str, sha256: str, expiry: str, sig: str, now: float
) -> str | None:
    """None when valid, else why not ("expired", "bad_signature")."""
    if not signing_key or not expiry.isdigit():
        return "bad_signature"
    expected = signature(signing_key, device_id, sha256, int(expiry))
    if not hmac.compare_digest(expected.encode(), sig.encode()):
        return "bad_signature"
    if int(expiry) <= now:
        return "expired"
    return None
