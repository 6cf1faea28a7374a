"""Typed view of a Worker's vars and secrets (wrangler.toml [vars], `wrangler secret put`)."""

import math
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

SECRET_NAMES = (
    "EMQX_API_KEY",
    "SIGNING_KEY",
    "WEBHOOK_SECRET",
    "JWT_SECRET",
    "DEVICE_MASTER_KEY",
    "EVENTS_SECRET",
)


class SettingsError(ValueError):
    """A var or binding is missing or malformed: the Worker is misconfigured, not the request."""


WEB_ORIGIN = "https://app.optic.works"


LOCAL_HOSTS = ("127.0.0.1", "localhost")


def _origins(raw: str) -> frozenset[str]:
    """WEB_ORIGINS: comma-separated origins the console is served from; CORS with credentials
    and the Access cookie are allowed for them only. Each must be written as a browser sends
    its Origin (lowercase, no default port, nothing after the host), or it could never match;
    plain http only for this machine (the local console)."""
    origins = frozenset(o.strip() for o in raw.split(",") if o.strip())
    for origin in origins:
        if not _is_origin(origin):
            raise SettingsError(
                f"WEB_ORIGINS holds {origin!r}: write https://host[:port] in lowercase, "
                "without a path or the default port (http:// only for 127.0.0.1 or localhost)."
            )
    return origins


def _is_origin(origin: str) -> bool:
    try:
        parts = urlsplit(origin)
        port = parts.port
    except ValueError:
        return False
    host = parts.hostname or ""
    return (
        origin == f"{parts.scheme}://{parts.netloc}"
        and origin == origin.lower()
        and bool(host)
        and "@" not in parts.netloc
        and "*" not in host
        and (parts.scheme == "https" or (parts.scheme == "http" and host in LOCAL_HOSTS))
        and port != {"https": 443, "http": 80}.get(parts.scheme)
    )


def _read(env: Any, name: str, default: str = "") -> str:
    value = getattr(env, name, None)
    return default if value is None else str(value)


def _shard_count(raw: str) -> int:
    """TELEMETRY_SHARDS (unset: 1) as an integer ≥ 1; anything else is an error, not a 1."""
    try:
        shards = int(raw)
    except ValueError:
        shards = 0
    if shards < 1:
        raise SettingsError(f"TELEMETRY_SHARDS must be an integer of at least 1, not {raw!r}.")
    return shards


def _seconds(name: str, raw: str) -> float:
    """A finite number of seconds ≥ 0; anything else is an error, not a default."""
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not math.isfinite(value) or value < 0:
        raise SettingsError(f"{name} must be a number of seconds (≥ 0), not {raw!r}.")
    return value


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
    # How long an isolate trusts a device it found active (rs1.devices.access_cache).
    auth_cache_ttl_s: float = 20.0
    # D1 databases telemetry is split over by device (rs1.storage.shards): shard 0 is DB,
    # shard i the binding TELEMETRY_DB_i; each must be bound (Services.telemetry_shards).
    telemetry_shards: int = 1
    # Outbound events (rs1.events): the key endpoint signing secrets are derived from, the
    # first retry's delay (doubling up to 1 h), how long an event is retried, and after how
    # many failures in a row an endpoint is disabled.
    events_secret: str = ""
    events_retry_base_s: float = 30.0
    events_max_age_s: int = 86_400
    events_disable_after: int = 50
    api_key_rate_limit: int = 600  # requests per minute per API key
    web_origins: frozenset[str] = frozenset({WEB_ORIGIN})  # the console's origins (CORS)

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
            auth_cache_ttl_s=_seconds("AUTH_CACHE_TTL_S", _read(env, "AUTH_CACHE_TTL_S", "20")),
            telemetry_shards=_shard_count(_read(env, "TELEMETRY_SHARDS", "1")),
            events_secret=_read(env, "EVENTS_SECRET"),
            events_retry_base_s=_seconds(
                "EVENTS_RETRY_BASE_S", _read(env, "EVENTS_RETRY_BASE_S", "30")
            ),
            events_max_age_s=int(_read(env, "EVENTS_MAX_AGE_S", "86400")),
            events_disable_after=int(_read(env, "EVENTS_DISABLE_AFTER", "50")),
            api_key_rate_limit=int(_read(env, "API_KEY_RATE_LIMIT_PER_MINUTE", "600")),
            web_origins=_origins(_read(env, "WEB_ORIGINS", WEB_ORIGIN)),
        )
