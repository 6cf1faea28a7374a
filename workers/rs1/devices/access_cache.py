"""A per-isolate cache of what MQTT auth and ACL need of an active device: its key generation
and the device secret derived from it.

EMQX calls authn on every connect and authz on every publish and subscribe it has not cached;
each call read D1 for the device's status. An entry lives TTL_S seconds (AUTH_CACHE_TTL_S, at
most MAX_TTL_S)
and only active devices are cached, so:
- revocation: an isolate that cached the device as active may still accept it for up to TTL_S
  after the revoke. The revoke kicks the device's session at once and again KICK_AGAIN_S
  after MAX_TTL_S (ctx.waitUntil, which Cloudflare runs for up to 30 s after the response: hence
  MAX_TTL_S), by when no isolate accepts it (README, "MQTT auth cache");
- re-enabling or enrolling is seen at once (nothing negative is cached);
- key rotation is seen at once: a password that fails against a cached entry is checked
  again against D1 (credentials.password_ok).
Bounded: at most MAX_ENTRIES devices (~300 bytes each); when full, it starts over.
"""

from dataclasses import dataclass

from rs1.devices import store
from rs1.identity.keys import derive_device_secret
from rs1.storage.database import Database

TTL_S = 20.0
MAX_TTL_S = 20.0  # the second kick waits this + KICK_AGAIN_S: inside waitUntil's 30 s
KICK_AGAIN_S = 2.0
MAX_ENTRIES = 20_000


def ttl(configured: float) -> float:
    """AUTH_CACHE_TTL_S within [0, MAX_TTL_S]: 0 turns the cache off."""
    return min(max(configured, 0.0), MAX_TTL_S)


@dataclass(frozen=True)
class Active:
    secret: str  # derived from the master key and the key generation (rs1.identity.keys)
    until: float


_entries: dict[str, Active] = {}


def cached(device_id: str, now: float) -> Active | None:
    entry = _entries.get(device_id)
    return entry if entry is not None and now < entry.until else None


def remember(device_id: str, secret: str, now: float, ttl_s: float) -> Active:
    entry = Active(secret, now + ttl(ttl_s))
    if entry.until > now:  # a TTL of 0 caches nothing
        if len(_entries) >= MAX_ENTRIES:
            _entries.clear()
        _entries[device_id] = entry
    return entry


def forget(device_id: str) -> None:
    _entries.pop(device_id, None)


async def load(
    db: Database, master_key: str, device_id: str, now: float, ttl_s: float
) -> Active | None:
    """The device read from D1: its entry (remembered for ttl_s) if enrolled and active, else
    None (and this isolate forgets it)."""
    found = await store.get_status(db, device_id)
    if found is None or found[0] != store.ACTIVE:
        forget(device_id)
        return None
    return remember(device_id, derive_device_secret(master_key, device_id, found[1]), now, ttl_s)
