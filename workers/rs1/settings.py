"""Typed view of a Worker's vars and secrets (wrangler.toml [vars], `wrangler secret put`)."""

from dataclasses import dataclass
from typing import Any

SECRET_NAMES = (
    "EMQX_API_KEY",
    "SIGNING_KEY",
    "WEBHOOK_SECRET",
    "JWT_SECRET",
    "DEVICE_MASTER_KEY",
)


def _read(env: Any, name: str, default: str = "") -> str:
    value = getattr(env, name, None)
    return default if value is None else str(value)


@dataclass(frozen=True)
class Settings:
    environment: str = "development"
    emqx_host: str = "mqtt.optic.works"
    # EMQX's HTTP API base; production default is EMQX's dashboard/API listener on EMQX_HOST.
    emqx_api_url: str = ""
    signed_url_expiry: int = 900
    emqx_api_key: str = ""
    signing_key: str = ""
    webhook_secret: str = ""
    jwt_secret: str = ""
    device_master_key: str = ""
    alert_webhook_url: str = ""
    ota_base_url: str = "https://ota.optic.works"
    firmware_public_key: str = ""
    api_rate_limit: int = 100  # requests per minute per client IP on /api/* (spec)
    # Cloudflare Access (optional): the team's JWKS, the app's audience tag, the team domain.
    access_jwks_url: str = ""
    access_aud: str = ""
    access_issuer: str = ""
    live_recheck_s: float = 60.0  # how often a live-targets watcher's access is re-checked

    @classmethod
    def from_env(cls, env: Any) -> "Settings":
        host = _read(env, "EMQX_HOST", cls.emqx_host)
        return cls(
            environment=_read(env, "ENVIRONMENT", cls.environment),
            emqx_host=host,
            emqx_api_url=_read(env, "EMQX_API_URL", f"https://{host}:18083").rstrip("/"),
            signed_url_expiry=int(_read(env, "SIGNED_URL_EXPIRY", "900")),
            emqx_api_key=_read(env, "EMQX_API_KEY"),
            signing_key=_read(env, "SIGNING_KEY"),
            webhook_secret=_read(env, "WEBHOOK_SECRET"),
            jwt_secret=_read(env, "JWT_SECRET"),
            device_master_key=_read(env, "DEVICE_MASTER_KEY"),
            alert_webhook_url=_read(env, "ALERT_WEBHOOK_URL"),
            ota_base_url=_read(env, "OTA_BASE_URL", cls.ota_base_url).rstrip("/"),
            firmware_public_key=_read(env, "FIRMWARE_PUBLIC_KEY"),
            api_rate_limit=int(_read(env, "API_RATE_LIMIT_PER_MINUTE", "100")),
            access_jwks_url=_read(env, "ACCESS_JWKS_URL"),
            access_aud=_read(env, "ACCESS_AUD"),
            access_issuer=_read(env, "ACCESS_ISSUER").rstrip("/"),
            live_recheck_s=float(_read(env, "LIVE_RECHECK_S", "60")),
        )
