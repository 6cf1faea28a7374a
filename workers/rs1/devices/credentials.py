"""A device's own credentials: its id and the hourly MQTT password (HMAC of the device key).

The one check behind MQTT authn (EMQX's webhook) and the OTA pull path (X-Device-Password).
"""

from rs1.devices import access_cache
from rs1.identity.device_id import is_device_id
from rs1.identity.keys import verify_mqtt_password
from rs1.storage.database import Database

PASSWORD_LENGTH = 64  # hex HMAC-SHA256


async def password_ok(
    db: Database,
    master_key: str,
    device_id: str,
    password: str,
    now: float,
    cache_ttl_s: float = 0.0,
) -> bool:
    """True for an enrolled, active device presenting its current or previous hour's password
    (compared in constant time). With cache_ttl_s > 0 an active device's secret is taken from
    this isolate's cache (rs1.devices.access_cache: revocation is seen within cache_ttl_s);
    a password that fails against a cached secret is checked against D1 once more, so a
    rotated key works at once."""
    if not is_device_id(device_id) or len(password) != PASSWORD_LENGTH:
        return False
    entry = access_cache.cached(device_id, now)
    if entry is not None and verify_mqtt_password(entry.secret, device_id, password, now):
        return True
    entry = await access_cache.load(db, master_key, device_id, now, cache_ttl_s)
    return entry is not None and verify_mqtt_password(entry.secret, device_id, password, now)
