"""EMQX placeholders: "${clientid}" in authn/authz requests, "${payload}" in action bodies.

A placeholder with no value renders as an empty string (EMQX renders a client without a
username as "" in authn/authz requests).
"""

import json
import re
from collections.abc import Callable, Mapping
from typing import Any

_PLACEHOLDER = re.compile(r"\$\{([A-Za-z0-9_.]+)\}")

Lookup = Callable[[str], str]


def render(text: str, lookup: Lookup) -> str:
    return _PLACEHOLDER.sub(lambda match: lookup(match.group(1)), text)


def render_deep(value: Any, lookup: Lookup) -> Any:
    """Render every string in a JSON-like value (keys stay as written)."""
    if isinstance(value, str):
        return render(value, lookup)
    if isinstance(value, dict):
        return {k: render_deep(v, lookup) for k, v in value.items()}
    if isinstance(value, list):
        return [render_deep(v, lookup) for v in value]
    return value


def from_values(values: Mapping[str, str]) -> Lookup:
    return lambda name: values.get(name, "")


def from_output(output: Mapping[str, Any]) -> Lookup:
    """Look `a.b` up in a rule output; non-string values render as JSON."""

    def lookup(name: str) -> str:
        value: Any = output
        for part in name.split("."):
            if not isinstance(value, Mapping) or part not in value:
                return ""
            value = value[part]
        return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))

    return lookup
