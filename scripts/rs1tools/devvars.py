"""Read local secrets: the environment first, then .dev.vars (as wrangler dev does)."""

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def read_dev_vars(path: Path = ROOT / ".dev.vars") -> dict[str, str]:
    values: dict[str, str] = {}
    if path.exists():
        for line in path.read_text().splitlines():
            name, sep, value = line.partition("=")
            if sep and not name.lstrip().startswith("#"):
                values[name.strip()] = value.strip().strip('"')
    return values


def secret(name: str) -> str:
    value = os.environ.get(name) or read_dev_vars().get(name)
    if not value:
        raise SystemExit(f"{name} is not set (environment or .dev.vars; run `make setup`)")
    return value
