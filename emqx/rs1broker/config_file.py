"""Read emqx/emqx.conf by EMQX 5's rules, and render its secrets.

EMQX's HOCON parser (emqx/hocon 0.45.3, hocon.erl do_resolve) resolves an unquoted ${X}
against other config paths only, never the environment: anything else stops EMQX with
`resolve_error failed_to_resolve`, and ${?X} silently drops the field. pyhocon would read
the environment, so `parse_text` refuses such substitutions itself, naming the line, and
refuses keys outside the table in rs1broker.emqx_keys (EMQX refuses unknown keys).

Secrets reach EMQX by rendering: the file holds quoted "${NAME}" markers for the names in
SECRET_NAMES, each as a line's whole value, and `render` replaces exactly those with the
HOCON-quoted value. Every other "${...}" is an EMQX per-request placeholder and stays.

For the local broker `read_config` renders from its environment (the production-only
secrets get local defaults) and maps https://api.optic.works URLs to RS1_WEBHOOK_BASE.
"""

import os
import re
import unicodedata
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from pyhocon import ConfigFactory, ConfigParser, ConfigTree
from pyhocon.config_tree import ConfigSubstitution, ConfigValues
from pyhocon.exceptions import ConfigException, ConfigMissingException
from pyparsing import ParseBaseException, lineno

from rs1broker.emqx_keys import KEYS

PRODUCTION_WEBHOOK_BASE = "https://api.optic.works"
WEBHOOK_BASE_ENV = "RS1_WEBHOOK_BASE"
SECRET_NAMES = ("WEBHOOK_SECRET", "EMQX_NODE_COOKIE", "EMQX_DASHBOARD_PASSWORD")
# The local broker uses neither the node cookie nor the dashboard: explicit local stand-ins.
LOCAL_DEFAULTS = {
    "EMQX_NODE_COOKIE": "rs1-local-cookie",
    "EMQX_DASHBOARD_PASSWORD": "rs1-local-dashboard",
}

# `key = "${NAME}"` (upper case: EMQX's own placeholders are lower case), alone on its line
# so no other quote follows on it: EMQX's scanner takes the longest string token, and a
# value ending in a backslash could otherwise run into a later quote (hocon_scanner.xrl).
_MARKER_LINE = re.compile(
    r'(?P<head>[ \t]*[^#\s/][^#\n]*?[=:][ \t]*)"\$\{(?P<name>[A-Z][A-Z0-9_]*)\}"[ \t]*'
)
# EMQX's scanner ends a string at these (LineFeed) and does not decode \uXXXX escapes
# (hocon_scanner.xrl unesc/1), so they cannot be written; surrogates are not UTF-8.
_UNWRITABLE = frozenset({"Cc", "Cs", "Zl", "Zp"})


class ConfigError(Exception):
    """The config cannot be used: bad syntax, an environment substitution, an unknown key,
    or a secret that is missing or cannot be written."""


def read_config(path: Path, env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The local broker's view: secrets rendered from `env`, webhook URLs mapped."""
    env = os.environ if env is None else env
    try:
        text = path.read_text()
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from None
    secrets = {**LOCAL_DEFAULTS, **{n: env[n] for n in SECRET_NAMES if env.get(n)}}
    conf = load_rendered(text, secrets, str(path))
    base = env.get(WEBHOOK_BASE_ENV, "").strip()
    return rewrite_urls(conf, base) if base else conf


def load_rendered(text: str, secrets: Mapping[str, str], source: str) -> dict[str, Any]:
    return check_rendered(render(text, secrets, source), source)


def check_rendered(rendered: str, source: str) -> dict[str, Any]:
    """Parse strictly; a secret marker the render could not reach is an error."""
    conf = parse_text(rendered, source)
    for key, value in _leaves(conf):
        for name in SECRET_NAMES:
            if isinstance(value, str) and f"${{{name}}}" in value:
                raise ConfigError(
                    f"{source}: {key} holds ${{{name}}} unrendered: write it as a line's "
                    f'whole value, key = "${{{name}}}"'
                )
    return conf


def render(text: str, secrets: Mapping[str, str], source: str = "emqx.conf") -> str:
    """Replace each `key = "${NAME}"` marker with the HOCON-quoted secrets[NAME]."""
    lines = text.split("\n")
    for number, line in enumerate(lines, 1):
        match = _MARKER_LINE.fullmatch(line.rstrip("\r"))
        if not match:
            continue
        name = match["name"]
        if name not in SECRET_NAMES:
            raise ConfigError(f'{source}:{number}: "${{{name}}}" is none of {SECRET_NAMES}')
        value = secrets.get(name, "")
        if not value:
            raise ConfigError(f"{name} must be set in the environment ({source}:{number})")
        if "${" in value:  # EMQX would expand it as a placeholder in a header (emqx_template)
            raise ConfigError(f"{name} must not contain '${{'")
        if any(unicodedata.category(c) in _UNWRITABLE for c in value):
            raise ConfigError(f"{name} must not contain control or line-break characters")
        lines[number - 1] = match["head"] + hocon_quote(value)
    return "\n".join(lines)


def hocon_quote(value: str) -> str:
    """A HOCON quoted string both EMQX's scanner and pyhocon read back as `value`."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def parse_text(text: str, source: str) -> dict[str, Any]:
    """Parse as EMQX would: config-path substitutions only, known keys only."""
    try:
        tree = ConfigFactory.parse_string(text, resolve=False)
        if not isinstance(tree, ConfigTree):  # HOCON allows a top-level array; EMQX does not
            raise ConfigError(f"{source}: the top level must be an object")
        for sub in _substitutions(tree):
            if not _is_path(tree, sub.variable):
                line = lineno(sub.loc, sub.instring)
                what = "drops the field silently" if sub.optional else "fails to boot"
                raise ConfigError(
                    f"{source}:{line}: ${{{'?' if sub.optional else ''}{sub.variable}}} is not"
                    f" a config path. EMQX never substitutes environment variables: it {what}"
                    " (see emqx/README.md, Secrets)"
                )
        ConfigParser.resolve_substitutions(tree)
    except (ConfigException, ParseBaseException) as exc:
        raise ConfigError(f"{source}: {exc}") from None
    conf = _plain(tree)
    unknown = sorted({key for key, _ in _leaves(conf) if not _known(key)})
    if unknown:
        raise ConfigError(
            f"{source}: keys EMQX does not have (or not in rs1broker/emqx_keys.py): {unknown}"
        )
    return conf


def _substitutions(value: Any) -> Iterator[ConfigSubstitution]:
    if isinstance(value, ConfigValues):
        yield from value.get_substitutions()
        children = [t for t in value.tokens if isinstance(t, ConfigTree | list)]
    elif isinstance(value, ConfigTree):
        children = list(value.values())
    elif isinstance(value, list):
        children = value
    else:
        return
    for child in children:
        yield from _substitutions(child)


def _is_path(tree: ConfigTree, variable: str) -> bool:
    try:
        tree.get(variable)
    except ConfigMissingException:
        return False
    return True


def _plain(value: Any) -> Any:
    if isinstance(value, ConfigTree):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _leaves(value: Any, key: str = "") -> Iterator[tuple[str, Any]]:
    """(dotted key, value) per leaf; an array of objects adds `[]` to its key."""
    if isinstance(value, dict) and value:
        for k, v in value.items():
            yield from _leaves(v, f"{key}.{k}" if key else k)
    elif isinstance(value, list) and any(isinstance(v, dict) for v in value):
        for item in value:
            yield from _leaves(item, f"{key}[]")
    else:
        yield key, value


def _known(key: str) -> bool:
    parts = key.split(".")
    return any(
        len(p) == len(parts) and all(a in ("*", b) for a, b in zip(p, parts, strict=True))
        for p in _PATTERNS
    )


_PATTERNS = [pattern.split(".") for pattern in KEYS]


def rewrite_urls(value: Any, base: str) -> Any:
    """Map every production webhook URL onto `base` (no trailing slash kept)."""
    if isinstance(value, dict):
        return {k: rewrite_urls(v, base) for k, v in value.items()}
    if isinstance(value, list):
        return [rewrite_urls(v, base) for v in value]
    if isinstance(value, str) and value.startswith(PRODUCTION_WEBHOOK_BASE):
        return base.rstrip("/") + value[len(PRODUCTION_WEBHOOK_BASE) :]
    return value
