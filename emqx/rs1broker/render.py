"""Render emqx/emqx.conf for a real EMQX: fill its secret markers, nothing else.

    PYTHONPATH=emqx .venv/bin/python -m rs1broker.render --out .state/emqx/emqx.conf \\
        [--config emqx/emqx.conf]

WEBHOOK_SECRET, EMQX_NODE_COOKIE and EMQX_DASHBOARD_PASSWORD come from the environment;
any missing one stops the render (exit 2) and nothing is written. The result is checked
like the local broker checks its config (no environment substitution, known keys only)
and written with mode 0600: it holds the secrets.
"""

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from rs1broker.cli import run
from rs1broker.config_file import SECRET_NAMES, ConfigError, check_rendered, render
from rs1broker.settings import DEFAULT_CONFIG

app = typer.Typer(add_completion=False)


@app.command()
def render_config(
    out: Annotated[Path, typer.Option(help="where to write the rendered config (0600)")],
    config: Annotated[Path, typer.Option(help="the config with secret markers")] = DEFAULT_CONFIG,
) -> None:
    """Fill emqx.conf's secret markers for EMQX."""
    secrets = {name: os.environ.get(name, "") for name in SECRET_NAMES}
    try:
        rendered = render(config.read_text(), secrets, str(config))
        check_rendered(rendered, str(config))  # refuses what EMQX would refuse
    except (ConfigError, OSError) as exc:
        print(f"rs1broker.render: {exc}", file=sys.stderr)
        raise typer.Exit(2) from None
    out.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # before writing: O_CREAT's mode does not apply to an existing file
    with os.fdopen(fd, "w") as handle:
        handle.write(rendered)
    print(f"wrote {out}")


def main(argv: list[str] | None = None) -> int:
    return run(app, argv, "rs1broker.render")


if __name__ == "__main__":
    sys.exit(main())
