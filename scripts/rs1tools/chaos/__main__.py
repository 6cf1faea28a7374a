"""python -m rs1tools.chaos [--devices N] [--only NAME [NAME ...]] [--json FILE]"""

import asyncio
import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from rs1tools.chaos.harness import ChaosWorld, ScenarioResult, say
from rs1tools.chaos.scenarios import SCENARIOS, describe
from rs1tools.cli import run
from rs1tools.devvars import ROOT


async def run_scenarios(names: list[str], devices: int, root: Path) -> list[ScenarioResult]:
    results = []
    for name in names:
        say(f"scenario {name} with {devices} devices")
        async with ChaosWorld(name, devices, root) as world:
            result = await SCENARIOS[name](world)
        describe(result)
        results.append(result)
    return results


app = typer.Typer(add_completion=False)
ONLY_HELP = f"scenarios to run (default: all): {', '.join(sorted(SCENARIOS))}"
# `--only a b` (argparse's nargs="+") still works: click takes one value an option, so the
# names after the first arrive as this hidden argument.
MoreNames = Annotated[list[str] | None, typer.Argument(hidden=True, metavar="NAME")]


def chosen(only: list[str] | None, more: list[str] | None) -> list[str]:
    if more and not only:
        raise typer.BadParameter(f"unexpected {more}: scenario names follow --only")
    names = [*(only or ()), *(more or ())] or list(SCENARIOS)
    unknown = sorted(set(names) - set(SCENARIOS))
    if unknown:
        raise typer.BadParameter(f"unknown scenarios {unknown}", param_hint="--only")
    return names


@app.command()
def chaos(
    devices: Annotated[int, typer.Option(help="simulated devices per scenario")] = 1000,
    only: Annotated[list[str] | None, typer.Option(help=ONLY_HELP)] = None,
    json_out: Annotated[Path | None, typer.Option("--json", help="also write results")] = None,
    state: Annotated[Path, typer.Option(help="state directories")] = ROOT / ".state" / "chaos",
    more: MoreNames = None,
) -> None:
    """The fault scenarios with a simulated fleet: figures, invariants and ledgers."""
    results = asyncio.run(run_scenarios(chosen(only, more), devices, state))
    if json_out:
        json_out.write_text(json.dumps([r.to_dict() for r in results], indent=2, default=str))
    failed = [r.name for r in results if not r.ok]
    say(
        f"{len(results) - len(failed)}/{len(results)} scenarios held"
        + (f"; FAILED: {', '.join(failed)}" if failed else "")
    )
    raise typer.Exit(1 if failed else 0)


def main(argv: list[str] | None = None) -> int:
    return run(app, argv, "rs1tools.chaos")


if __name__ == "__main__":
    sys.exit(main())
