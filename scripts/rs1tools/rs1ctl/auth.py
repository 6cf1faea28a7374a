"""`rs1ctl token` (mint a JWT and register its session in KV), `rs1ctl login` (save a
checked token to the profile) and `rs1ctl profiles`."""

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from rs1tools.rs1ctl import output, profiles
from rs1tools.rs1ctl.client import Api
from rs1tools.rs1ctl.exits import CtlError, Exit
from rs1tools.rs1ctl.state import JsonOpt, ctl
from rs1tools.sessions import bootstrap_token

MAX_TTL_S = 86_400  # sessions live at most a day


class Role(StrEnum):
    admin = "admin"
    user = "user"


def mint(sub: str, role: str, ttl_s: int, state_dir: Path | None, env: str | None) -> str:
    """A token whose session is written into KV SESSIONS: the local state directory's, or
    Cloudflare's (state_dir None, wrangler --remote [--env])."""
    try:
        return bootstrap_token(sub, role, ttl_s, state_dir, env)
    except (SystemExit, RuntimeError, OSError) as exc:  # no JWT_SECRET, wrangler failed
        raise CtlError(Exit.FAILURE, "cannot_mint", str(exc)) from None


def whoami(api_url: str, token: str) -> dict[str, Any]:
    """GET /api/auth/session with `token`: its sub, role, expiry (401 if it is no good)."""
    api = Api.connect(api_url, token)
    try:
        return api.get("/api/auth/session")
    finally:
        api.close()


def token_cmd(
    ctx: typer.Context,
    role: Annotated[Role, typer.Option(help="The token's role")] = Role.admin,
    sub: Annotated[str, typer.Option(help="Who the token is")] = "ops",
    ttl: Annotated[int, typer.Option(min=60, max=MAX_TTL_S, help="Seconds")] = 3600,
    state_dir: Annotated[
        Path | None, typer.Option(help="Local state directory (default RS1_STATE_DIR or .state)")
    ] = None,
    remote: Annotated[bool, typer.Option(help="Cloudflare's KV, not the local state")] = False,
    env: Annotated[str | None, typer.Option(help="wrangler environment with --remote")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Mint a bearer token (JWT_SECRET) and register its session; prints the token."""
    where = None if remote else (state_dir or profiles.state_dir())
    token = mint(sub, role.value, ttl, where, env)
    document = {"token": token, "sub": sub, "role": role.value, "ttl_s": ttl}
    output.emit(ctl(ctx), document, lambda d: output.plain(d["token"]))


def login_cmd(
    ctx: typer.Context,
    token: Annotated[
        str | None, typer.Option("--token", help="A session token or API key (rs1_live_…)")
    ] = None,
    ttl: Annotated[int, typer.Option(min=60, max=MAX_TTL_S, help="local: seconds")] = MAX_TTL_S,
    json_out: JsonOpt = False,
) -> None:
    """Save a token to the profile, checked with GET /api/auth/session. The local profile mints
    an admin session in the local state; others take --token or ask for it."""
    c = ctl(ctx)
    token = token or c.token_override
    if token is None and c.profile == profiles.LOCAL:
        token = mint("rs1ctl", Role.admin.value, ttl, profiles.state_dir(), None)
    elif token is None:
        token = str(typer.prompt(f"Token for {c.profile} ({c.api_url})", hide_input=True, err=True))
    session = whoami(c.api_url, token)
    path = profiles.save(c.profile, {"api": c.api_url, "token": token})
    document = {"profile": c.profile, "api": c.api_url, "config": str(path), **session}
    output.emit(c, document, output.fields)


def profiles_cmd(ctx: typer.Context, json_out: JsonOpt = False) -> None:
    """Known profiles: built-in and saved (tokens are never shown)."""
    saved = profiles.load()
    names = sorted({*profiles.BUILTIN_APIS, *saved})
    rows = [
        {
            "profile": name,
            "api": saved.get(name, {}).get("api") or profiles.BUILTIN_APIS.get(name),
            "token_saved": bool(saved.get(name, {}).get("token")),
        }
        for name in names
    ]
    document = {"config": str(profiles.config_path()), "profiles": rows}
    output.emit(
        ctl(ctx),
        document,
        lambda d: output.table(d["profiles"], ["profile", "api", "token_saved"], "profiles"),
    )
