"""Read emqx/emqx.conf (HOCON) into plain Python values, the way the local broker needs it.

- Unquoted ${VAR} substitutions resolve from the environment. The production-only secrets
  (node cookie, dashboard password) get harmless local defaults so a laptop run never needs
  them; WEBHOOK_SECRET has no default: the Workers check it, so the launcher must set it.
- Every URL that starts with the production webhook host is rewritten to RS1_WEBHOOK_BASE
  (e.g. http://127.0.0.1:8789) when that variable is set, so the same file drives both.
"""

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pyhocon import ConfigFactory, ConfigParser, ConfigTree
from pyhocon.exceptions import ConfigException

PRODUCTION_WEBHOOK_BASE = "https://api.optic.works"
WEBHOOK_BASE_ENV = "RS1_WEBHOOK_BASE"
LOCAL_DEFAULTS = {
    "EMQX_NODE_COOKIE": "rs1-local-cookie",
    "EMQX_DASHBOARD_PASSWORD": "rs1-local-dashboard",
}
REQUIRED_FROM_ENV = ("WEBHOOK_SECRET",)

# Environment substitutions are upper-case by convention; EMQX's own placeholders
# ("${clientid}") are lower-case and quoted, so HOCON never substitutes them.
_SUBSTITUTION = re.compile(r"\$\{\??([A-Z][A-Z0-9_]*)\}")


class ConfigError(Exception):
    """The config file cannot drive the local broker (bad syntax, missing env, unsupported)."""


def read_config(path: Path, env: Mapping[str, str] | None = None) -> dict[str, Any]:
    env = os.environ if env is None else env
    try:
        text = path.read_text()
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from None
    values = _substitution_values(set(_SUBSTITUTION.findall(text)), env)
    tree = _parse(path, values)
    plain = _plain(tree)
    for name in values:
        plain.pop(name, None)
    base = env.get(WEBHOOK_BASE_ENV, "").strip()
    return rewrite_urls(plain, base) if base else plain


def _substitution_values(names: set[str], env: Mapping[str, str]) -> dict[str, str]:
    values: dict[str, str] = {}
    for name in sorted(names):
        if env.get(name):
            values[name] = env[name]
        elif name in LOCAL_DEFAULTS:
            values[name] = LOCAL_DEFAULTS[name]
        elif name in REQUIRED_FROM_ENV:
            raise ConfigError(f"{name} must be set in the environment (the launcher sets it)")
    return values


def _parse(path: Path, values: Mapping[str, str]) -> ConfigTree:
    # The values are injected as root keys rather than into os.environ: HOCON looks a
    # substitution up in the config before the environment, and the process env stays intact.
    try:
        tree = ConfigFactory.parse_file(str(path), resolve=False)
        for name, value in values.items():
            tree.put(name, value)
        ConfigParser.resolve_substitutions(tree)
    except ConfigException as exc:
        raise ConfigError(f"{path}: {exc}") from None
    return tree


def _plain(value: Any) -> Any:
    if isinstance(value, ConfigTree):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def rewrite_urls(value: Any, base: str) -> Any:
    """Map every production webhook URL onto `base` (no trailing slash kept)."""
    if isinstance(value, dict):
        return {k: rewrite_urls(v, base) for k, v in value.items()}
    if isinstance(value, list):
        return [rewrite_urls(v, base) for v in value]
    if isinstance(value, str) and value.startswith(PRODUCTION_WEBHOOK_BASE):
        return base.rstrip("/") + value[len(PRODUCTION_WEBHOOK_BASE) :]
    return value
