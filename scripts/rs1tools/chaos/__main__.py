"""python -m rs1tools.chaos [--devices N] [--only NAME]... [--json FILE]"""

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
ONLY_HELP = f"a scenario to run, repeatable (default: all): {', '.join(sorted(SCENARIOS))}"


@app.command()
def chaos(
    devices: Annotated[int, typer.Option(help="simulated devices per scenario")] = 1000,
    only: Annotated[list[str] | None, typer.Option(help=ONLY_HELP)] = None,
    json_out: Annotated[Path | None, typer.Option("--json", help="also write results")] = None,
    state: Annotated[Path, typer.Option(help="state directories")] = ROOT / ".state" / "chaos",
) -> None:
    """The fault scenarios with a simulated fleet: figures, invariants and ledgers."""
    only = only or list(SCENARIOS)
    unknown = sorted(set(only) - set(SCENARIOS))
    if unknown:
        raise typer.BadParameter(f"unknown scenarios {unknown}", param_hint="--only")
    results = asyncio.run(run_scenarios(only, devices, state))
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
