"""python -m rs1tools.chaos [--devices N] [--only NAME ...] [--json FILE]"""

import argparse
import asyncio
import json
import sys
from pathlib import Path

from rs1tools.chaos.harness import ChaosWorld, ScenarioResult, say
from rs1tools.chaos.scenarios import SCENARIOS, describe
from rs1tools.devvars import ROOT


async def run(names: list[str], devices: int, root: Path) -> list[ScenarioResult]:
    results = []
    for name in names:
        say(f"scenario {name} with {devices} devices")
        async with ChaosWorld(name, devices, root) as world:
            result = await SCENARIOS[name](world)
        describe(result)
        results.append(result)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").strip())
    parser.add_argument("--devices", type=int, default=1000)
    parser.add_argument("--only", nargs="+", choices=sorted(SCENARIOS), default=list(SCENARIOS))
    parser.add_argument("--json", type=Path, help="also write every result here")
    parser.add_argument("--state", type=Path, default=ROOT / ".state" / "chaos")
    args = parser.parse_args(argv)
    results = asyncio.run(run(args.only, args.devices, args.state))
    if args.json:
        args.json.write_text(json.dumps([r.to_dict() for r in results], indent=2, default=str))
    failed = [r.name for r in results if not r.ok]
    say(
        f"{len(results) - len(failed)}/{len(results)} scenarios held"
        + (f"; FAILED: {', '.join(failed)}" if failed else "")
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
