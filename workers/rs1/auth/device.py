"""Device calls over HTTP (the OTA pull path): X-Device-Id + X-Device-Password."""

from rs1.devices.credentials import password_ok
from rs1.errors import Unauthenticated
from rs1.messages import ApiRequest
from rs1.services import Services


async def device_credentials(request: ApiRequest, svc: Services) -> str:
    """The calling device's id; 401 (without a bearer challenge) for anything else."""
    device_id = request.header("x-device-id")
    password = request.header("x-device-password")
    settings = svc.settings
    ttl = settings.auth_cache_ttl_s
    if not await password_ok(svc.db, settings.device_master_key, device_id, password,
                             svc.clock(), ttl):  # fmt: skip
        raise Unauthenticated("Device credentials are required.")
    return device_id
