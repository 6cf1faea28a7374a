"""Every CLI in the repository is a typer app (like rs1ctl): none parses with argparse, and
each one's --help works."""

import ast
import importlib
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from helpers import ROOT
from rs1tools.cli import run

CLIS = (
    "rs1tools.rs1ctl.app",
    "rs1tools.dev",
    "rs1tools.demo",
    "rs1tools.schemas",
    "rs1tools.restore",
    "rs1tools.emqx_apply",
    "rs1tools.chaos.__main__",
    "rs1tools.chaos.qos",
    "rs1tools.fleet.cli",
    "rs1tools.fleet.broker",
    "rs1tools.fleet.scale",
    "rs1fw.cli",
    "rs1broker.__main__",
    "rs1broker.render",
)


def _imports_argparse(path: Path) -> bool:
    for node in ast.walk(ast.parse(path.read_text())):
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module]
        if "argparse" in names:
            return True
    return False


def test_no_module_parses_with_argparse() -> None:
    sources = [
        p for d in ("scripts", "firmware", "emqx", "workers") for p in (ROOT / d).rglob("*.py")
    ]
    users = [str(p.relative_to(ROOT)) for p in sources if "python_modules" not in p.parts
             and _imports_argparse(p)]  # fmt: skip
    assert users == []


@pytest.mark.parametrize("module", CLIS)
def test_every_cli_answers_help(module: str) -> None:
    loaded = importlib.import_module(module)
    app = getattr(loaded, "app", None) or loaded.cli
    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output


def test_a_reason_given_to_system_exit_still_reaches_stderr(capsys) -> None:
    # restore and emqx_apply stop with SystemExit("why"); main(argv) must not swallow it.
    app = typer.Typer()

    @app.command()
    def stop() -> None:
        raise SystemExit("already holds a D1")

    assert run(app, [], "t") == 1
    assert "already holds a D1" in capsys.readouterr().err


def test_chaos_only_still_takes_names_after_one_flag(monkeypatch) -> None:
    chaos = importlib.import_module("rs1tools.chaos.__main__")
    seen: list[list[str]] = []

    async def scenarios(names: list[str], devices: int, root: Path) -> list[object]:
        seen.append(names)
        return []

    monkeypatch.setattr(chaos, "run_scenarios", scenarios)
    assert chaos.main(["--only", "d1-errors", "r2-outage", "--devices", "3"]) == 0
    assert chaos.main(["--only", "d1-errors", "--only", "r2-outage"]) == 0
    assert seen == [["d1-errors", "r2-outage"]] * 2
    assert chaos.main(["d1-errors"]) == 2  # names without --only: a usage error, as before
