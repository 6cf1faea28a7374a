"""Bearer tokens for the tools: mint with JWT_SECRET and register the session in KV SESSIONS.

A token works only while KV SESSIONS holds its `session:{jti}`, so minting alone is not enough.
The first admin token is written straight into KV with wrangler (`--local --persist-to` for a
local state directory, `--remote` for Cloudflare); any further token can be asked of the admin
API (POST /admin/sessions) with that one.
"""

import subprocess
import time
from pathlib import Path

import httpx

from rs1.identity.sessions import session_key, session_record, session_ttl
from rs1.identity.tokens import issue_token
from rs1tools.devvars import secret
from rs1tools.localstack import ROOT, tool_env


def wrangler_kv_put(key: str, value: str, ttl_s: int, where: list[str]) -> None:
    command = ["npx", "wrangler", "kv", "key", "put", "--binding", "SESSIONS", key, value]
    command += ["--ttl", str(max(60, ttl_s)), "--config", str(ROOT / "wrangler.toml"), *where]
    done = subprocess.run(command, cwd=ROOT, env=tool_env(), capture_output=True, timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"wrangler kv key put failed: {done.stderr.decode()[-2000:]}")


def kv_target(state_dir: Path | None, env: str | None) -> list[str]:
    """wrangler's flags for where SESSIONS lives: a local state dir, else Cloudflare."""
    if state_dir is not None:
        return ["--local", "--persist-to", str(state_dir)]
    return ["--remote", *(["--env", env] if env else [])]


def bootstrap_token(
    sub: str,
    role: str = "admin",
    ttl_s: int = 3600,
    state_dir: Path | None = None,
    env: str | None = None,
) -> str:
    """Mint a token and write its session into KV SESSIONS with wrangler."""
    now = time.time()
    token, claims = issue_token(secret("JWT_SECRET"), sub, role, now, ttl_s)
    record = session_record(claims)
    wrangler_kv_put(
        session_key(claims.jti), record, session_ttl(claims, now), kv_target(state_dir, env)
    )
    return token


def api_token(admin: httpx.Client, sub: str, role: str = "user", ttl_s: int = 3600) -> str:
    """A token for `sub` from the admin API (the caller holds an admin session)."""
    response = admin.post("/admin/sessions", json={"sub": sub, "role": role, "ttl_s": ttl_s})
    if response.status_code != 201:
        raise RuntimeError(f"POST /admin/sessions: {response.status_code} {response.text}")
    return response.json()["token"]


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}
