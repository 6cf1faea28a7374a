"""A device's own credentials: its id and the hourly MQTT password (HMAC of the device key).

The one check behind MQTT authn (EMQX's webhook) and the OTA pull path (X-Device-Password).
"""

from rs1.devices import store
from rs1.identity.device_id import is_device_id
from rs1.identity.keys import derive_device_secret, verify_mqtt_password
from rs1.storage.database import Database

PASSWORD_LENGTH = 64  # hex HMAC-SHA256


async def password_ok(
    db: Database, master_key: str, device_id: str, password: str, now: float
) -> bool:
    """True for an enrolled, active device presenting its current or previous hour's password
    (compared in constant time)."""
    if not is_device_id(device_id) or len(password) != PASSWORD_LENGTH:
        return False
    found = await store.get_status(db, device_id)
    if found is None or found[0] != store.ACTIVE:
        return False
    secret = derive_device_secret(master_key, device_id, found[1])
    return verify_mqtt_password(secret, device_id, password, now)
