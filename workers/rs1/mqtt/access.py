"""MQTT authentication and authorization decisions for EMQX's HTTP authn/authz webhooks."""

from rs1.devices import access_cache
from rs1.devices.credentials import PASSWORD_LENGTH, password_ok
from rs1.identity.device_id import is_device_id
from rs1.mqtt import auth_limits
from rs1.mqtt.acl import Decision, authorize
from rs1.mqtt.webhook_models import AclRequest, AuthRequest
from rs1.security_log import ACL_VIOLATION, AUTH_FAILURE_REPEATED, record_security_event
from rs1.services import Services

MAX_PEERHOST = 64


def _well_formed(body: AuthRequest) -> bool:
    fields = (body.username, body.password, body.clientid, body.peerhost)
    if not all(f.isascii() and f.isprintable() for f in fields):
        return False
    return (
        is_device_id(body.username)
        and body.clientid == body.username
        and len(body.password) == PASSWORD_LENGTH
        and len(body.peerhost) <= MAX_PEERHOST
    )


async def _credentials_ok(body: AuthRequest, svc: Services) -> bool:
    if not _well_formed(body):
        return False
    settings = svc.settings
    return await password_ok(svc.db, settings.device_master_key, body.username, body.password,
                             svc.clock(), settings.auth_cache_ttl_s)  # fmt: skip


async def _active(device_id: str, svc: Services) -> bool:
    """Enrolled and active: from this isolate's cache (access_cache), else from D1."""
    now, settings = svc.clock(), svc.settings
    if access_cache.cached(device_id, now) is not None:
        return True
    master_key, ttl = settings.device_master_key, settings.auth_cache_ttl_s
    return await access_cache.load(svc.db, master_key, device_id, now, ttl) is not None


async def authenticate(body: AuthRequest, svc: Services) -> bool:
    """True to allow. Credentials are checked first, so the allow path costs one D1 read and
    a device behind a noisy NAT is never locked out; failures are counted per peer in KV and
    the (THRESHOLD+1)th in a window is logged as auth_failure_repeated."""
    if await _credentials_ok(body, svc):
        return True
    kv = svc.kv["RS1_RATE_LIMITS"]
    now = svc.clock()
    peer = body.peerhost[:MAX_PEERHOST] or "unknown"
    window = await auth_limits.current_window(kv, peer, now)
    count = await auth_limits.record_failure(kv, peer, window, now)
    if count == auth_limits.THRESHOLD + 1:
        details = {"peerhost": peer, "failures": count, "window_s": auth_limits.WINDOW_S}
        await record_security_event(svc.db, AUTH_FAILURE_REPEATED, details, peer)
    return False


async def authorize_request(body: AclRequest, svc: Services) -> Decision:
    decision = authorize(body.username, body.clientid, body.action, body.topic)
    # Decided from the topic and the username first: a denial never reads D1.
    if decision.allowed and not await _active(body.username, svc):
        decision = Decision(False, "device unknown or revoked")
    if not decision.allowed:
        details = {
            "username": body.username[:64],
            "clientid": body.clientid[:64],
            "action": body.action[:16],
            "topic": body.topic[:256],
            "reason": decision.reason,
        }
        await record_security_event(svc.db, ACL_VIOLATION, details)
    return decision
