"""Render emqx/emqx.conf for a real EMQX: fill its secret markers, nothing else.

    PYTHONPATH=emqx .venv/bin/python -m rs1broker.render --out .state/emqx/emqx.conf \\
        [--config emqx/emqx.conf]

WEBHOOK_SECRET, EMQX_NODE_COOKIE and EMQX_DASHBOARD_PASSWORD come from the environment;
any missing one stops the render (exit 2) and nothing is written. The result is checked
like the local broker checks its config (no environment substitution, known keys only)
and written with mode 0600: it holds the secrets.
"""

import argparse
import os
import sys
from pathlib import Path

from rs1broker.config_file import SECRET_NAMES, ConfigError, check_rendered, render
from rs1broker.settings import DEFAULT_CONFIG


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="rs1broker.render", description="fill emqx.conf's secret markers for EMQX"
    )
    parser.add_argument("--config", type=Path, default=DEFAULT_CONFIG)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    secrets = {name: os.environ.get(name, "") for name in SECRET_NAMES}
    try:
        rendered = render(args.config.read_text(), secrets, str(args.config))
        check_rendered(rendered, str(args.config))  # refuses what EMQX would refuse
    except (ConfigError, OSError) as exc:
        print(f"rs1broker.render: {exc}", file=sys.stderr)
        return 2
    args.out.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(args.out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # before writing: O_CREAT's mode does not apply to an existing file
    with os.fdopen(fd, "w") as out:
        out.write(rendered)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
