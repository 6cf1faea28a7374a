"""Device keys and hourly MQTT passwords.

Key scheme: device keys are *derived*, never stored.

    device_secret = hex(HMAC-SHA256(DEVICE_MASTER_KEY,
                                    "rs1-device-secret:v1:{device_id}:{generation}"))

DEVICE_MASTER_KEY is a Worker secret; D1 keeps only `key_generation` (an integer), so a leaked
database or backup yields no usable key. Rotation (re-enrolment with rotate=true) increments
the generation, which changes the secret and invalidates the old one.

MQTT password (spec): lowercase hex HMAC-SHA256(key = UTF-8 bytes of device_secret,
message = "{device_id}:{hour}"), hour = floor(unix_seconds / 3600); the current and the
previous hour are accepted (clock-skew tolerance).
"""

import hashlib
import hmac
import math


def derive_device_secret(master_key: str, device_id: str, generation: int) -> str:
    if not master_key:
        raise ValueError("DEVICE_MASTER_KEY is not configured")
    message = f"rs1-device-secret:v1:{device_id}:{generation}".encode()
    return hmac.new(master_key.encode(), message, hashlib.sha256).hexdigest()


def hour_of(unix_seconds: float) -> int:
    return math.floor(unix_seconds / 3600)


def mqtt_password(device_secret: str, device_id: str, hour: int) -> str:
    message = f"{device_id}:{hour}".encode()
    return hmac.new(device_secret.encode(), message, hashlib.sha256).hexdigest()


def verify_mqtt_password(device_secret: str, device_id: str, password: str, now: float) -> bool:
    """Constant-time check against the current and the previous hour's password."""
    hour = hour_of(now)
    given = password.encode()
    matches = [
        hmac.compare_digest(mqtt_password(device_secret, device_id, h).encode(), given)
        for h in (hour, hour - 1)
    ]
    return any(matches)
