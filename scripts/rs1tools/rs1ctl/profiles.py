"""Profiles: which API an invocation talks to, and with which token.

The file is $RS1CTL_CONFIG or ~/.config/rs1ctl/profiles.json, mode 0600 because it holds
tokens: {"profiles": {"<name>": {"api": "...", "token": "..."}}}. Built-in profiles need no
file: local (the local system) and production.
"""

import json
import os
from pathlib import Path

from rs1tools.devvars import ROOT
from rs1tools.rs1ctl.exits import CtlError, Exit
from rs1tools.sessions import bootstrap_token

LOCAL = "local"
BUILTIN_APIS = {LOCAL: "http://127.0.0.1:8787", "production": "https://api.optic.works"}
TOKEN_ENV = ("RS1_TOKEN", "RS1_ADMIN_TOKEN")
LOCAL_SESSION_TTL_S = 600


def config_path() -> Path:
    configured = os.environ.get("RS1CTL_CONFIG")
    return Path(configured) if configured else Path.home() / ".config" / "rs1ctl" / "profiles.json"


def load(path: Path | None = None) -> dict[str, dict[str, str]]:
    path = path or config_path()
    if not path.exists():
        return {}
    try:
        profiles = json.loads(path.read_text())["profiles"]
        return {str(name): {**values} for name, values in profiles.items()}
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        message = f"{path} is not a profiles file ({type(exc).__name__}: {exc})"
        raise CtlError(Exit.FAILURE, "bad_config", message) from None


def save(name: str, values: dict[str, str], path: Path | None = None) -> Path:
    """Merge `values` into the profile and write the file (0600, replaced atomically)."""
    path = path or config_path()
    profiles = load(path)
    profiles[name] = {**profiles.get(name, {}), **values}
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump({"profiles": profiles}, f, indent=2, sort_keys=True)
    os.chmod(temporary, 0o600)  # an older temporary file keeps its mode otherwise
    os.replace(temporary, path)
    return path


def api_url(profile: str, override: str | None = None) -> str:
    """--api, else RS1_API_URL, else the profile's (saved, then built-in)."""
    url = (
        override
        or os.environ.get("RS1_API_URL")
        or load().get(profile, {}).get("api")
        or BUILTIN_APIS.get(profile)
    )
    if not url:
        message = f"Profile {profile!r} has no API URL: pass --api URL (login saves it)."
        raise CtlError(Exit.USAGE, "no_api_url", message)
    return url.rstrip("/")


def state_dir() -> Path:
    return Path(os.environ.get("RS1_STATE_DIR") or ROOT / ".state")


def local_admin_token() -> str:
    """A fresh admin session written into the local state's KV, as `rs1ctl token` does."""
    try:
        return bootstrap_token("rs1ctl", "admin", LOCAL_SESSION_TTL_S, state_dir=state_dir())
    except (SystemExit, RuntimeError, OSError) as exc:  # no JWT_SECRET, wrangler failed
        raise CtlError(Exit.AUTH, "no_token", f"Cannot mint a local admin token: {exc}") from None


def token(profile: str, override: str | None = None) -> str:
    """--token, else RS1_TOKEN / RS1_ADMIN_TOKEN, else the profile's saved token, else (local
    only) a fresh admin session in the local state."""
    for candidate in (override, *(os.environ.get(v) for v in TOKEN_ENV)):
        if candidate:
            return candidate
    if saved := load().get(profile, {}).get("token"):
        return saved
    if profile == LOCAL:
        return local_admin_token()
    message = f"No token for profile {profile!r}: run `rs1ctl --profile {profile} login`."
    raise CtlError(Exit.AUTH, "no_token", message)
