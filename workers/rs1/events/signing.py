"""RS1-Signature: `t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>." + body)>` (Stripe's scheme).

Each endpoint's secret is derived from the Worker secret EVENTS_SECRET and the endpoint's id,
so D1 (and every backup of it) holds none. Receivers check the HMAC in constant time and
refuse a `t` older than 5 minutes (replays).
"""

import base64
import hashlib
import hmac

TOLERANCE_S = 300


def endpoint_secret(master: str, endpoint_id: str) -> str:
    if not master:
        raise ValueError("EVENTS_SECRET is not configured")
    mac = hmac.new(master.encode(), f"rs1-events:{endpoint_id}".encode(), hashlib.sha256)
    return "whsec_" + base64.urlsafe_b64encode(mac.digest()).decode().rstrip("=")


def _mac(secret: str, body: bytes, t: int) -> str:
    return hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()


def sign(secret: str, body: bytes, t: int) -> str:
    return f"t={t},v1={_mac(secret, body, t)}"


def verify(
    secret: str, header: str, body: bytes, now: float, tolerance_s: int = TOLERANCE_S
) -> bool:
    """The header is ours for this body, and fresh."""
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    try:
        t = int(parts.get("t", ""))
    except ValueError:
        return False
    if abs(now - t) > tolerance_s:
        return False
    # Bytes: compare_digest refuses str with non-ASCII characters (a forged header's).
    return hmac.compare_digest(parts.get("v1", "").encode(), _mac(secret, body, t).encode())
