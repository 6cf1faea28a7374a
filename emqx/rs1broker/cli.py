"""How rs1broker's commands run (typer + rich, like the repository's other CLIs, whose
helper this package does not import): `main(argv)` returns the exit code."""

import sys

import typer


def run(app: typer.Typer, argv: list[str] | None, prog: str) -> int:
    try:
        app(args=argv, prog_name=prog)
    except SystemExit as exc:  # typer (click) always exits, 0 included
        if exc.code is None or isinstance(exc.code, int):
            return exc.code or 0
        print(exc.code, file=sys.stderr)  # as the interpreter would: SystemExit("reason")
        return 1
    return 0
